/* mien-cli-dist.c — what makes `mien-cli train` one rank of a data-parallel run: torchrun's
 * environment variables, and `--nproc N`, which starts N local ranks itself as torchrun
 * --standalone would.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <glib-unix.h>

#include "mien-cli-private.h"
#include "mien-dist.h"

/* One of torchrun's variables as an integer in [min, max]; FALSE with a message naming it. */
static gboolean
env_int (const char  *name,
         gint64       min,
         gint64       max,
         gint64      *out,
         GError     **error)
{
  const char *text = g_getenv (name);
  g_autoptr(GError) local_error = NULL;

  if (text == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("%s is not set (torchrun, srun scripts and --nproc set RANK, WORLD_SIZE, "
                     "MASTER_ADDR and MASTER_PORT together)"), name);
      return FALSE;
    }
  if (!g_ascii_string_to_signed (text, 10, min, max, out, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("%s=%s is not a whole number from %lld to %lld"), name, text,
                   (long long) min, (long long) max);
      return FALSE;
    }
  return TRUE;
}

gboolean
mien_cli_dist_env_read (MienCliDistEnv *env,
                        GError        **error)
{
  gint64 rank, world_size, local_rank, port;

  memset (env, 0, sizeof *env);
  if (g_getenv ("WORLD_SIZE") == NULL && g_getenv ("RANK") == NULL)
    return TRUE;
  if (!env_int ("WORLD_SIZE", 1, 65536, &world_size, error) ||
      !env_int ("RANK", 0, 65535, &rank, error) ||
      !env_int ("MASTER_PORT", 1, 65535, &port, error))
    return FALSE;
  if (rank >= world_size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("RANK=%lld is not below WORLD_SIZE=%lld"), (long long) rank,
                   (long long) world_size);
      return FALSE;
    }
  if (g_getenv ("MASTER_ADDR") == NULL || *g_getenv ("MASTER_ADDR") == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("MASTER_ADDR is not set (the address of rank 0's machine)"));
      return FALSE;
    }
  local_rank = rank;
  if (g_getenv ("LOCAL_RANK") != NULL && !env_int ("LOCAL_RANK", 0, 65535, &local_rank, error))
    return FALSE;
  env->rank = (int) rank;
  env->world_size = (int) world_size;
  env->local_rank = (int) local_rank;
  env->master_addr = g_getenv ("MASTER_ADDR");
  env->master_port = (guint) port;
  return TRUE;
}

/* ---- --nproc ------------------------------------------------------------------------------ */

/* How long the other ranks get to stop by themselves once one has failed (they notice within
 * a few heartbeats, mien-dist.h) before they are terminated, and then killed. */
#define GRACE_S 15
#define KILL_S  5

typedef struct {
  GMainLoop    *loop;
  GSubprocess **children;
  guint         n;
  guint         running;
  int           status;       /* the first failed rank's, else 0 */
  gboolean      failed;
  gboolean      interrupted;  /* Ctrl+C or SIGTERM was passed on */
  guint         grace_id;
} Launch;

static void
signal_children (Launch *launch,
                 int     signum)
{
  for (guint i = 0; i < launch->n; i++)
    if (launch->children[i] != NULL)
      g_subprocess_send_signal (launch->children[i], signum);
}

static gboolean
kill_cb (gpointer user_data)
{
  Launch *launch = user_data;

  launch->grace_id = 0;
  signal_children (launch, SIGKILL);
  return G_SOURCE_REMOVE;
}

static gboolean
grace_cb (gpointer user_data)
{
  Launch *launch = user_data;

  mien_cli_warning (_("terminating the ranks still running"));
  signal_children (launch, SIGTERM);
  launch->grace_id = g_timeout_add_seconds (KILL_S, kill_cb, launch);
  return G_SOURCE_REMOVE;
}

static void
child_exited_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Launch *launch = user_data;
  GSubprocess *child = G_SUBPROCESS (source);
  int status;

  g_subprocess_wait_finish (child, result, NULL);
  if (g_subprocess_get_if_exited (child))
    status = g_subprocess_get_exit_status (child);
  else
    status = 128 + g_subprocess_get_term_sig (child);
  for (guint i = 0; i < launch->n; i++)
    if (launch->children[i] == child)
      g_clear_object (&launch->children[i]);
  if (status != 0 && !launch->failed)
    {
      launch->failed = TRUE;
      launch->status = status;
      if (launch->running > 1)
        launch->grace_id = g_timeout_add_seconds (GRACE_S, grace_cb, launch);
    }
  if (--launch->running == 0)
    g_main_loop_quit (launch->loop);
}

static gboolean
forward_signal_cb (gpointer user_data)
{
  Launch *launch = user_data;

  /* The ranks run in their own process group (child_setup ()): Ctrl+C reaches them once, from
   * here, and each stops after its batch. */
  launch->interrupted = TRUE;
  signal_children (launch, SIGINT);
  return G_SOURCE_CONTINUE;
}

static void
child_setup (gpointer user_data)
{
  setpgid (0, 0);
  /* A launcher killed outright takes its ranks with it. */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

int
mien_cli_launch_local (const char * const *args,
                       guint               nproc,
                       gboolean            set_threads)
{
  g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autofree GSubprocess **children = g_new0 (GSubprocess *, nproc);
  Launch launch = { loop, children, nproc, 0, 0, FALSE, FALSE, 0 };
  g_autofree char *port = NULL;
  g_autofree char *threads = NULL;
  guint sigint_id, sigterm_id;

  if (exe == NULL)
    {
      mien_cli_error (_("cannot find this program's own file (/proc/self/exe) to start the ranks"));
      return EXIT_FAILURE;
    }
  if (g_getenv ("MASTER_PORT") != NULL)
    port = g_strdup (g_getenv ("MASTER_PORT"));
  else
    {
      guint p = mien_dist_free_port (&error);

      if (p == 0)
        {
          mien_cli_error (error->message);
          return EXIT_FAILURE;
        }
      port = g_strdup_printf ("%u", p);
    }
  /* The processors shared among the ranks, as torchrun's one thread each would waste them. */
  if (set_threads)
    threads = g_strdup_printf ("%u", MAX (1u, g_get_num_processors () / nproc));

  for (guint i = 0; i < nproc; i++)
    {
      g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
      g_autoptr(GPtrArray) argv = g_ptr_array_new ();
      g_autofree char *rank = g_strdup_printf ("%u", i);
      g_autofree char *world = g_strdup_printf ("%u", nproc);

      g_subprocess_launcher_setenv (launcher, "RANK", rank, TRUE);
      g_subprocess_launcher_setenv (launcher, "LOCAL_RANK", rank, TRUE);
      g_subprocess_launcher_setenv (launcher, "WORLD_SIZE", world, TRUE);
      g_subprocess_launcher_setenv (launcher, "LOCAL_WORLD_SIZE", world, TRUE);
      g_subprocess_launcher_setenv (launcher, "MASTER_ADDR", "127.0.0.1", TRUE);
      g_subprocess_launcher_setenv (launcher, "MASTER_PORT", port, TRUE);
      g_subprocess_launcher_set_child_setup (launcher, child_setup, NULL, NULL);
      g_ptr_array_add (argv, exe);
      for (guint j = 0; args[j] != NULL; j++)
        g_ptr_array_add (argv, (gpointer) args[j]);
      if (threads != NULL)
        {
          g_ptr_array_add (argv, "--threads");
          g_ptr_array_add (argv, threads);
        }
      g_ptr_array_add (argv, NULL);
      children[i] = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                                  &error);
      if (children[i] == NULL)
        {
          g_autofree char *message = g_strdup_printf (_("cannot start rank %u: %s"), i,
                                                      error->message);

          mien_cli_error (message);
          signal_children (&launch, SIGTERM);
          for (guint j = 0; j < i; j++)
            g_subprocess_wait (children[j], NULL, NULL);
          for (guint j = 0; j < i; j++)
            g_clear_object (&children[j]);
          return EXIT_FAILURE;
        }
      launch.running++;
    }
  for (guint i = 0; i < nproc; i++)
    g_subprocess_wait_async (children[i], NULL, child_exited_cb, &launch);
  sigint_id = g_unix_signal_add (SIGINT, forward_signal_cb, &launch);
  sigterm_id = g_unix_signal_add (SIGTERM, forward_signal_cb, &launch);
  g_main_loop_run (loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  if (launch.grace_id != 0)
    g_source_remove (launch.grace_id);
  /* Stopped on request: the ranks that noticed another's stop before their own said so. */
  if (launch.interrupted && launch.failed)
    return 130;
  return launch.status;
}
