/* test-camera-portal.c — the "portal" camera source against a mock of xdg-desktop-portal's
 * Camera portal (python-dbusmock, tests/portal_camera_mock.py): access granted, denied, failed,
 * no camera, no portal at all, and cancelling while the portal's dialog is up.
 *
 * Runs on a private session bus (tests/meson.build starts it under dbus-run-session with
 * tests/isolated-session-bus.conf, which activates no service: a real portal installed on the
 * machine never answers in the mock's place). Each case starts its own mock and stops it.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "mien-camera.h"
#include "mien-camera-private.h"
#include "mien-test-util.h"

#define PORTAL_NAME "org.freedesktop.portal.Desktop"
#define PORTAL_PATH "/org/freedesktop/portal/desktop"
#define MOCK_INTERFACE "org.freedesktop.DBus.Mock"
/* Generous for two busy cores; every wait ends as soon as its condition holds. */
#define WAIT_US (20 * G_USEC_PER_SEC)

typedef struct {
  MienTestScratch  scratch;
  GDBusConnection *bus;
  GSubprocess     *mock;
  gboolean         mock_exited;
  char            *fd_path;   /* what the mock's OpenPipeWireRemote opens */
} Fixture;

/* What mien_camera_new_async () gave, and how often its callback ran. */
typedef struct {
  guint       n_calls;
  MienCamera *camera;
  GError     *error;
} Opened;

static void
fixture_set_up (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  mien_test_scratch_set_up (&fixture->scratch, data);
  fixture->fd_path = g_build_filename (fixture->scratch.dir, "pipewire-remote", NULL);
  mien_test_write_file (fixture->fd_path, "remote", 6);
  fixture->bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
}

static gboolean
name_has_owner (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  gboolean owned = FALSE;

  reply = g_dbus_connection_call_sync (fixture->bus, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "NameHasOwner", g_variant_new ("(s)", PORTAL_NAME),
                                       G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(b)", &owned);
  return owned;
}

/* Iterates the main context until `done` (polled every 10 ms) or fails the test. */
#define WAIT_UNTIL(condition, what)                                                       \
  G_STMT_START {                                                                          \
    gint64 deadline_ = g_get_monotonic_time () + WAIT_US;                                 \
    while (!(condition))                                                                  \
      {                                                                                   \
        if (g_get_monotonic_time () > deadline_)                                          \
          g_error ("timed out waiting for %s", what);                                     \
        if (!g_main_context_iteration (NULL, FALSE))                                      \
          g_usleep (10 * 1000);                                                           \
      }                                                                                   \
  } G_STMT_END

static void
stop_mock (Fixture *fixture)
{
  g_subprocess_force_exit (fixture->mock);
  WAIT_UNTIL (fixture->mock_exited, "the mock portal to exit");
  /* The next case's mock takes the name: this one's must be gone. */
  WAIT_UNTIL (!name_has_owner (fixture), "the mock portal to leave the bus");
  g_clear_object (&fixture->mock);
}

static void
fixture_tear_down (Fixture       *fixture,
                   gconstpointer  data)
{
  if (fixture->mock != NULL)
    {
      stop_mock (fixture);
    }
  g_clear_object (&fixture->mock);
  g_clear_object (&fixture->bus);
  g_free (fixture->fd_path);
  mien_test_scratch_tear_down (&fixture->scratch, data);
}

/* The python that can import dbusmock (found by tests/meson.build), or NULL. */
static const char *
dbusmock_python (void)
{
  const char *python = g_getenv ("MIEN_DBUSMOCK_PYTHON");

  return python != NULL && python[0] != '\0' ? python : NULL;
}

static void
mock_exited_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  gboolean *exited = user_data;

  *exited = g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
}

/* Starts the mock portal answering `answer`, with IsCameraPresent `present`, and waits for it
 * on the bus. FALSE (the case skipped) without python-dbusmock. */
static gboolean
start_mock (Fixture    *fixture,
            const char *answer,
            gboolean    present)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *template = g_test_build_filename (G_TEST_DIST, "portal_camera_mock.py",
                                                     NULL);
  g_autofree char *parameters = NULL;

  if (dbusmock_python () == NULL)
    {
      g_test_skip ("python3-dbusmock is not installed (no python3 on the build's PATH or "
                   "/usr/bin/python3 can import dbusmock)");
      return FALSE;
    }
  g_assert_false (name_has_owner (fixture));
  /* JSON: the scratch path has no quotes or backslashes. */
  g_assert_null (strpbrk (fixture->fd_path, "\"\\"));
  parameters = g_strdup_printf ("{\"answer\": \"%s\", \"present\": %s, \"fd_path\": \"%s\"}",
                                answer, present ? "true" : "false", fixture->fd_path);
  /* Its log of every call goes to stdout, which is this test's TAP stream. */
  fixture->mock = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                                    dbusmock_python (), "-m", "dbusmock", "--session",
                                    "--template", template, "-p", parameters, NULL);
  g_assert_no_error (error);
  g_subprocess_wait_async (fixture->mock, NULL, mock_exited_cb, &fixture->mock_exited);
  WAIT_UNTIL (name_has_owner (fixture) || fixture->mock_exited, "the mock portal on the bus");
  g_assert_false (fixture->mock_exited);
  return TRUE;
}

static void
opened_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Opened *opened = user_data;

  g_assert_null (source);
  opened->n_calls++;
  opened->camera = mien_camera_new_finish (result, &opened->error);
  g_assert_true ((opened->camera == NULL) != (opened->error == NULL));
}

/* Whether every task of a request is gone once it has answered: each holds the cancellable,
 * so a task kept alive (by the Response subscription, the cancellation's source) shows. */
static void
assert_released (GCancellable *cancellable)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_cmpuint (G_OBJECT (cancellable)->ref_count, ==, 1);
}

/* Opens `source_id` (with a cancellable that is not used) and waits for the answer. */
static void
open_source (Opened     *opened,
             const char *source_id)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  memset (opened, 0, sizeof *opened);
  mien_camera_new_async (source_id, 0, 0, cancellable, opened_cb, opened);
  WAIT_UNTIL (opened->n_calls > 0, "the camera portal's answer");
  assert_released (cancellable);
}

static void
opened_clear (Opened *opened)
{
  g_clear_object (&opened->camera);
  g_clear_error (&opened->error);
}

static void
test_granted (Fixture       *fixture,
              gconstpointer  data)
{
  const char *source_id = data;
  Opened opened;
  struct stat expected, got;
  int fd;

  if (!start_mock (fixture, "granted", TRUE))
    return;
  /* A device's own id goes through the portal where the portal is used. */
  if (!g_str_equal (source_id, "portal"))
    g_setenv ("MIEN_CAMERA_PORTAL", "1", TRUE);
  open_source (&opened, source_id);
  g_unsetenv ("MIEN_CAMERA_PORTAL");
  if (g_error_matches (opened.error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_UNSUPPORTED))
    {
      /* No GStreamer, or no pipewiresrc (gstreamer1.0-pipewire). */
      g_test_skip (opened.error->message);
      opened_clear (&opened);
      return;
    }
  g_assert_no_error (opened.error);
  g_assert_cmpstr (mien_camera_get_source_id (opened.camera), ==, "portal");

  /* The pipeline's pipewiresrc connects through the very file the portal sent (a copy of the
   * descriptor, passed over the bus): the same open file as the mock's. */
  fd = mien_camera_get_pipewire_fd (opened.camera);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fstat (fd, &got), ==, 0);
  g_assert_cmpint (g_stat (fixture->fd_path, &expected), ==, 0);
  g_assert_cmpuint (got.st_dev, ==, expected.st_dev);
  g_assert_cmpuint (got.st_ino, ==, expected.st_ino);

  /* The caller holds the only reference. */
  g_object_add_weak_pointer (G_OBJECT (opened.camera), (gpointer *) &opened.camera);
  g_object_unref (opened.camera);
  g_assert_null (opened.camera);
  opened_clear (&opened);
}

static void
test_denied (Fixture       *fixture,
             gconstpointer  data)
{
  Opened opened;

  if (!start_mock (fixture, "denied", TRUE))
    return;
  open_source (&opened, "portal");
  g_assert_error (opened.error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_DENIED);
  g_assert_null (opened.camera);
  /* It says how to allow it. */
  g_assert_nonnull (strstr (opened.error->message, "Settings → Apps → Mien → Camera"));
  g_assert_nonnull (strstr (opened.error->message, "flatpak permission-reset " MIEN_APP_ID));
  opened_clear (&opened);
}

static void
test_failed (Fixture       *fixture,
             gconstpointer  data)
{
  Opened opened;

  if (!start_mock (fixture, "other", TRUE))
    return;
  open_source (&opened, "portal");
  /* Not the user's no: no advice about permissions. */
  g_assert_error (opened.error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE);
  g_assert_null (strstr (opened.error->message, "permission"));
  opened_clear (&opened);
}

static void
test_no_camera (Fixture       *fixture,
                gconstpointer  data)
{
  Opened opened;

  if (!start_mock (fixture, "granted", FALSE))
    return;
  open_source (&opened, "portal");
  g_assert_error (opened.error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE);
  g_assert_nonnull (strstr (opened.error->message, "no camera"));
  opened_clear (&opened);
}

static void
test_absent (Fixture       *fixture,
             gconstpointer  data)
{
  Opened opened;

  g_assert_false (name_has_owner (fixture));
  open_source (&opened, "portal");
  g_assert_error (opened.error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_NO_PORTAL);
  /* It names what to install. */
  g_assert_nonnull (strstr (opened.error->message, "xdg-desktop-portal"));
  opened_clear (&opened);
}

/* The calls of `method` the mock received on `path`. */
static GVariant *
mock_calls (Fixture    *fixture,
            const char *path,
            const char *method)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_sync (fixture->bus, PORTAL_NAME, path, MOCK_INTERFACE,
                                       "GetMethodCalls", g_variant_new ("(s)", method),
                                       G_VARIANT_TYPE ("(a(tav))"), G_DBUS_CALL_FLAGS_NONE, -1,
                                       NULL, &error);
  g_assert_no_error (error);
  return g_variant_get_child_value (reply, 0);
}

static gsize
n_mock_calls (Fixture    *fixture,
              const char *path,
              const char *method)
{
  g_autoptr(GVariant) calls = mock_calls (fixture, path, method);

  return g_variant_n_children (calls);
}

static void
test_cancel (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GVariant) calls = NULL;
  g_autoptr(GVariant) args = NULL;
  g_autoptr(GVariant) options = NULL;
  g_autofree char *sender = NULL;
  g_autofree char *request = NULL;
  const char *token = NULL;
  Opened opened = { 0, };

  if (!start_mock (fixture, "never", TRUE))
    return;
  mien_camera_new_async ("portal", 0, 0, cancellable, opened_cb, &opened);
  /* The dialog is up once the portal has the request. */
  WAIT_UNTIL (n_mock_calls (fixture, PORTAL_PATH, "AccessCamera") == 1, "AccessCamera");
  g_assert_cmpuint (opened.n_calls, ==, 0);

  g_cancellable_cancel (cancellable);
  WAIT_UNTIL (opened.n_calls > 0, "the cancelled request's callback");
  g_assert_error (opened.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (opened.camera);

  /* The portal is told to close the request (and its dialog): Close on the request's path,
   * made of this connection's name and the handle_token sent. */
  calls = mock_calls (fixture, PORTAL_PATH, "AccessCamera");
  g_variant_get_child (calls, 0, "(t@av)", NULL, &args);
  g_variant_get_child (args, 0, "v", &options);
  g_assert_true (g_variant_lookup (options, "handle_token", "&s", &token));
  sender = g_strdup (g_dbus_connection_get_unique_name (fixture->bus) + 1);
  g_strdelimit (sender, ".", '_');
  request = g_strconcat (PORTAL_PATH "/request/", sender, "/", token, NULL);
  WAIT_UNTIL (n_mock_calls (fixture, request, "Close") == 1, "Close on the request");

  /* Nothing more comes, and nothing crashes, once the portal is gone. */
  stop_mock (fixture);
  assert_released (cancellable);
  g_assert_cmpuint (opened.n_calls, ==, 1);
  opened_clear (&opened);
}

static void
test_sync_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MienCamera) camera = mien_camera_new ("portal", 0, 0, &error);

  /* Its dialog would block the caller's main loop: only the asynchronous constructor opens it. */
  g_assert_null (camera);
  g_assert_error (error, MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE);
  g_assert_nonnull (strstr (error->message, "mien_camera_new_async"));
}

static gboolean
has_source (GPtrArray  *sources,
            const char *id)
{
  for (guint i = 0; i < sources->len; i++)
    if (g_str_equal (((MienCameraSource *) sources->pdata[i])->id, id))
      return TRUE;
  return FALSE;
}

static void
test_list_sources (void)
{
  g_autoptr(GPtrArray) portal = NULL;
  g_autoptr(GPtrArray) direct = NULL;

  if (!mien_camera_is_supported ())
    {
      g_test_skip ("this build has no camera support");
      return;
    }
  /* Asked for: the portal and the test pattern, not what the device monitor sees. */
  g_setenv ("MIEN_CAMERA_PORTAL", "1", TRUE);
  portal = mien_camera_list_sources ();
  g_assert_cmpuint (portal->len, ==, 2);
  g_assert_cmpstr (((MienCameraSource *) portal->pdata[0])->id, ==, "portal");
  g_assert_cmpstr (((MienCameraSource *) portal->pdata[0])->name, ==,
                   "Camera (through the camera portal)");
  g_assert_cmpstr (((MienCameraSource *) portal->pdata[1])->id, ==, "test");

  /* Forced off: the direct path's list, which never offers the portal. */
  g_setenv ("MIEN_CAMERA_PORTAL", "0", TRUE);
  direct = mien_camera_list_sources ();
  g_assert_false (has_source (direct, "portal"));
  g_assert_true (has_source (direct, "test"));
  g_unsetenv ("MIEN_CAMERA_PORTAL");
}

/* Whether this runs on a bus of its own: on a desktop's, the real portal is there (or can be
 * started), and a mock must not take its place. */
static gboolean
on_private_bus (void)
{
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  g_autoptr(GVariant) reply = NULL;
  g_autofree const char **names = NULL;

  if (bus == NULL)
    return FALSE;
  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "ListActivatableNames", NULL,
                                       G_VARIANT_TYPE ("(as)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       NULL);
  if (reply == NULL)
    return FALSE;
  g_variant_get (reply, "(^a&s)", &names);
  return !g_strv_contains (names, PORTAL_NAME);
}

static void
skip_not_private (void)
{
  g_test_skip ("not on a private session bus: run it with meson test (dbus-run-session "
               "--config-file=tests/isolated-session-bus.conf)");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  if (!on_private_bus ())
    {
      g_test_add_func ("/camera-portal/private-bus", skip_not_private);
      return g_test_run ();
    }

#define ADD(path, data, func) \
  g_test_add (path, Fixture, data, fixture_set_up, func, fixture_tear_down)
  ADD ("/camera-portal/granted", "portal", test_granted);
  ADD ("/camera-portal/granted-device-id", "v4l2:/dev/video0", test_granted);
  ADD ("/camera-portal/denied", NULL, test_denied);
  ADD ("/camera-portal/failed", NULL, test_failed);
  ADD ("/camera-portal/no-camera", NULL, test_no_camera);
  ADD ("/camera-portal/absent", NULL, test_absent);
  ADD ("/camera-portal/cancel", NULL, test_cancel);
#undef ADD
  g_test_add_func ("/camera-portal/sync-refused", test_sync_refused);
  g_test_add_func ("/camera-portal/list-sources", test_list_sources);
  return g_test_run ();
}
