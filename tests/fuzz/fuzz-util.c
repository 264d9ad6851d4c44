/* fuzz-util.c — see fuzz-util.h. */
#include "fuzz-util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib/gstdio.h>

static char *scratch_dir;

#define FATAL_LEVELS (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)

/* Outside g_test programs GLib stops on a fatal message with SIGTRAP, which libFuzzer does not
 * catch, so it would save no reproducer; abort () it handles. */
static GLogWriterOutput
abort_on_fatal (GLogLevelFlags   log_level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  GLogWriterOutput result = g_log_writer_default (log_level, fields, n_fields, user_data);

  if (log_level & (G_LOG_FLAG_FATAL | FATAL_LEVELS))
    abort ();
  return result;
}

void
mien_fuzz_init (void)
{
  static gboolean done;

  if (done)
    return;
  done = TRUE;
  g_log_set_always_fatal (FATAL_LEVELS);
  g_log_set_writer_func (abort_on_fatal, NULL, NULL);
}

void
mien_fuzz_assert_error (const GError *error,
                        GQuark        domain)
{
  g_assert_nonnull (error);
  if (domain != 0)
    g_assert_cmpstr (g_quark_to_string (error->domain), ==, g_quark_to_string (domain));
  g_assert_cmpstr (error->message, !=, "");
}

static void
remove_scratch_dir (void)
{
  g_autoptr(GDir) dir = g_dir_open (scratch_dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (scratch_dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (scratch_dir);
  g_clear_pointer (&scratch_dir, g_free);
}

const char *
mien_fuzz_dir (void)
{
  g_autoptr(GError) error = NULL;

  if (scratch_dir != NULL)
    return scratch_dir;

  /* In memory where there is a tmpfs: the harnesses write a file per input, and atomic writers
   * fsync it. */
  if (g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR) && access ("/dev/shm", W_OK) == 0)
    {
      scratch_dir = g_strdup ("/dev/shm/mien-fuzz-XXXXXX");
      if (g_mkdtemp (scratch_dir) == NULL)
        g_clear_pointer (&scratch_dir, g_free);
    }
  if (scratch_dir == NULL)
    scratch_dir = g_dir_make_tmp ("mien-fuzz-XXXXXX", &error);
  if (scratch_dir == NULL)
    g_error ("Cannot make the fuzzers' scratch folder: %s", error->message);
  atexit (remove_scratch_dir);
  return scratch_dir;
}

char *
mien_fuzz_write_file (const char *name,
                      const void *data,
                      size_t      size)
{
  char *path = g_build_filename (mien_fuzz_dir (), name, NULL);
  const guint8 *p = data;
  int fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  if (fd < 0)
    g_error ("Cannot write %s: %s", path, g_strerror (errno));
  while (size > 0)
    {
      ssize_t n = write (fd, p, size);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        g_error ("Cannot write %s: %s", path, g_strerror (errno));
      p += n;
      size -= n;
    }
  close (fd);
  return path;
}
