/* mien-camera-portal.c — one camera request to xdg-desktop-portal: IsCameraPresent, then
 * AccessCamera (answered later by the Request's Response signal, once the user has chosen),
 * then OpenPipeWireRemote. Plain GDBus rather than libportal: nothing more to bundle in the
 * Flatpak, and the request is a few calls.
 */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <gio/gunixfdlist.h>

#include "mien-camera.h"
#include "mien-camera-portal.h"

#define PORTAL_NAME       "org.freedesktop.portal.Desktop"
#define PORTAL_PATH       "/org/freedesktop/portal/desktop"
#define CAMERA_INTERFACE  "org.freedesktop.portal.Camera"
#define REQUEST_INTERFACE "org.freedesktop.portal.Request"

/* The Request's Response codes (org.freedesktop.portal.Request). */
enum {
  RESPONSE_SUCCESS = 0,
  RESPONSE_CANCELLED = 1,  /* the user said no, or closed the dialog */
};

typedef struct {
  GDBusConnection *connection;
  char            *request_path;   /* where the Response comes from */
  guint            response_id;    /* its subscription; 0 when none */
  GSource         *cancel_source;
  gboolean         asked;          /* AccessCamera sent and no Response yet: a dialog may be up */
  gboolean         done;           /* the task has returned; late replies are dropped */
} Access;

gboolean
mien_camera_portal_wanted (void)
{
  const char *asked = g_getenv ("MIEN_CAMERA_PORTAL");

  if (asked != NULL && asked[0] != '\0')
    return !g_str_equal (asked, "0");
  /* Flatpak's marker in every sandbox it starts. */
  return g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS);
}

static void
access_unsubscribe (Access *access)
{
  if (access->response_id != 0)
    g_dbus_connection_signal_unsubscribe (access->connection, access->response_id);
  access->response_id = 0;
}

static void
access_free (gpointer data)
{
  Access *access = data;

  access_unsubscribe (access);
  if (access->cancel_source != NULL)
    g_source_destroy (access->cancel_source);
  g_clear_pointer (&access->cancel_source, g_source_unref);
  g_clear_object (&access->connection);
  g_free (access->request_path);
  g_free (access);
}

/* Ends the request: `fds` (one fd) or `error`, both taken. */
static void
access_return (GTask       *task,
               GUnixFDList *fds,
               GError      *error)
{
  Access *access = g_task_get_task_data (task);

  g_assert (!access->done);
  access->done = TRUE;
  access_unsubscribe (access);
  if (access->cancel_source != NULL)
    g_source_destroy (access->cancel_source);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, fds, g_object_unref);
}

/* Whether a D-Bus error of a method call says that the portal, or its Camera interface, is not
 * there; python-dbus services (the mock) name theirs with an Unknown* of their own. */
static gboolean
is_missing_portal (const GError *error)
{
  static const GDBusError missing[] = {
    G_DBUS_ERROR_SERVICE_UNKNOWN, G_DBUS_ERROR_NAME_HAS_NO_OWNER, G_DBUS_ERROR_UNKNOWN_METHOD,
    G_DBUS_ERROR_UNKNOWN_INTERFACE, G_DBUS_ERROR_UNKNOWN_OBJECT,
  };
  g_autofree char *remote = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (missing); i++)
    if (g_error_matches (error, G_DBUS_ERROR, missing[i]))
      return TRUE;
  remote = g_dbus_error_get_remote_error (error);
  return remote != NULL && (g_str_has_suffix (remote, ".UnknownInterface") ||
                            g_str_has_suffix (remote, ".UnknownMethod"));
}

static GError *
missing_portal_error (const char *why)
{
  return g_error_new (MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_NO_PORTAL,
                      _("The camera portal is not available (%s). Inside a sandbox, Mien can "
                        "only reach the camera through it: install xdg-desktop-portal with "
                        "a back end for your desktop (xdg-desktop-portal-gnome or "
                        "xdg-desktop-portal-gtk), then log in again."), why);
}

static GError *
denied_error (void)
{
  return g_error_new (MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_DENIED,
                      _("Mien is not allowed to use the camera. To allow it, turn it on in "
                        "Settings → Apps → Mien → Camera, or run “flatpak permission-reset %s” "
                        "and answer the question again."), MIEN_APP_ID);
}

/* Ends the request after a failed call, unless it was cancelled (cancelled_cb reports that).
 * `what` names the call for the message; NULL: a step without which there is no usable
 * portal, whatever the error (the session bus; reading IsCameraPresent, which portals
 * without the Camera interface answer with InvalidArgs or UnknownProperty). */
static void
access_fail (GTask      *task,
             GError     *dbus_error,
             const char *what)
{
  Access *access = g_task_get_task_data (task);
  g_autofree char *remote = g_dbus_error_get_remote_error (dbus_error);
  GError *error;

  if (g_error_matches (dbus_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  access->asked = FALSE;
  g_dbus_error_strip_remote_error (dbus_error);
  if (what == NULL || is_missing_portal (dbus_error))
    error = missing_portal_error (dbus_error->message);
  /* What the portal answers when the permission store says no, or the desktop's lockdown
   * setting turns cameras off. */
  else if (g_strcmp0 (remote, "org.freedesktop.portal.Error.NotAllowed") == 0)
    error = denied_error ();
  else
    /* Translators: the first %s is what was asked (“opening the camera”), the second why it
     * failed. */
    error = g_error_new (MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE,
                         _("The camera portal failed (%s): %s"), what, dbus_error->message);
  access_return (task, NULL, error);
}

/* The reply of a call to the portal, or NULL when the request is over (the failure reported
 * by access_fail () with `what`, or the request ended already). `fds` (may be NULL): the file
 * descriptors that came with it. */
static GVariant *
call_finish (GTask         *task,
             GObject       *connection,
             GAsyncResult  *result,
             GUnixFDList  **fds,
             const char    *what)
{
  Access *access = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_with_unix_fd_list_finish (G_DBUS_CONNECTION (connection), fds,
                                                           result, &error);
  if (access->done)
    return NULL;
  if (reply == NULL)
    access_fail (task, error, what);
  return g_steal_pointer (&reply);
}

/* The portal's unique-name-based path for this request, known before asking so that the
 * Response cannot come before the subscription. */
static char *
request_path (GDBusConnection *connection,
              const char      *token)
{
  g_autofree char *sender = g_strdup (g_dbus_connection_get_unique_name (connection) + 1);

  g_strdelimit (sender, ".", '_');
  return g_strconcat (PORTAL_PATH "/request/", sender, "/", token, NULL);
}

static void
close_request (Access *access)
{
  /* No reply wanted: the request may be gone already (answered, or never made). */
  g_dbus_connection_call (access->connection, PORTAL_NAME, access->request_path,
                          REQUEST_INTERFACE, "Close", NULL, NULL, G_DBUS_CALL_FLAGS_NONE, -1,
                          NULL, NULL, NULL);
}

static gboolean
cancelled_cb (GCancellable *cancellable,
              gpointer      user_data)
{
  GTask *task = user_data;
  Access *access = g_task_get_task_data (task);
  GError *error = NULL;

  if (access->done)
    return G_SOURCE_REMOVE;
  /* The dialog goes away with the request. */
  if (access->asked)
    close_request (access);
  g_cancellable_set_error_if_cancelled (cancellable, &error);
  access_return (task, NULL, error);
  return G_SOURCE_REMOVE;
}

static void
remote_opened_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GUnixFDList) reply_fds = NULL;
  g_autoptr(GVariant) reply = call_finish (task, source, result, &reply_fds,
                                           _("opening the camera"));
  gint32 handle;
  int fd;

  if (reply == NULL)
    return;
  g_variant_get (reply, "(h)", &handle);
  fd = reply_fds != NULL ? g_unix_fd_list_get (reply_fds, handle, &error) : -1;
  if (fd < 0)
    {
      access_return (task, NULL,
                     g_error_new (MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE,
                                  _("The camera portal gave no PipeWire connection: %s"),
                                  error != NULL ? error->message : _("no file descriptor")));
      return;
    }
  access_return (task, g_unix_fd_list_new_from_array (&fd, 1), NULL);
}

static void
response_cb (GDBusConnection *connection,
             const char      *sender_name,
             const char      *object_path,
             const char      *interface_name,
             const char      *signal_name,
             GVariant        *parameters,
             gpointer         user_data)
{
  GTask *task = user_data;
  Access *access = g_task_get_task_data (task);
  guint32 response;

  if (access->done || !g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(ua{sv})")))
    return;
  g_variant_get (parameters, "(u@a{sv})", &response, NULL);
  access->asked = FALSE;
  access_unsubscribe (access);
  switch (response)
    {
    case RESPONSE_SUCCESS:
      g_dbus_connection_call_with_unix_fd_list (connection, PORTAL_NAME, PORTAL_PATH,
                                                CAMERA_INTERFACE, "OpenPipeWireRemote",
                                                g_variant_new ("(a{sv})", NULL),
                                                G_VARIANT_TYPE ("(h)"), G_DBUS_CALL_FLAGS_NONE,
                                                -1, NULL, g_task_get_cancellable (task),
                                                remote_opened_cb, g_object_ref (task));
      break;
    case RESPONSE_CANCELLED:
      access_return (task, NULL, denied_error ());
      break;
    default:
      access_return (task, NULL,
                     g_error_new (MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE,
                                  _("The camera portal could not ask for the camera (its "
                                    "answer was %u)"), response));
      break;
    }
}

static void
subscribe (GTask *task)
{
  Access *access = g_task_get_task_data (task);

  access_unsubscribe (access);
  access->response_id =
    g_dbus_connection_signal_subscribe (access->connection, PORTAL_NAME, REQUEST_INTERFACE,
                                        "Response", access->request_path, NULL,
                                        G_DBUS_SIGNAL_FLAGS_NONE, response_cb,
                                        g_object_ref (task), g_object_unref);
}

static void
access_camera_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Access *access = g_task_get_task_data (task);
  /* Cancelled, the request may exist all the same: cancelled_cb closes it. */
  g_autoptr(GVariant) reply = call_finish (task, source, result, NULL,
                                           _("asking for the camera"));
  const char *handle;

  if (reply == NULL)
    return;
  g_variant_get (reply, "(&o)", &handle);
  /* Portals older than handle_token made up their own path: listen there, unless the
   * Response came already. */
  if (access->asked && !g_str_equal (handle, access->request_path))
    {
      g_free (access->request_path);
      access->request_path = g_strdup (handle);
      subscribe (task);
    }
}

static void
camera_present_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Access *access = g_task_get_task_data (task);
  g_autoptr(GVariant) reply = call_finish (task, source, result, NULL, NULL);
  g_autoptr(GVariant) present = NULL;
  g_autofree char *token = NULL;
  GVariantBuilder options;

  if (reply == NULL)
    return;
  g_variant_get (reply, "(v)", &present);
  if (g_variant_is_of_type (present, G_VARIANT_TYPE_BOOLEAN) && !g_variant_get_boolean (present))
    {
      access_return (task, NULL,
                     g_error_new_literal (MIEN_CAMERA_ERROR, MIEN_CAMERA_ERROR_SOURCE,
                                          _("The camera portal sees no camera. Plug one in "
                                            "and try again.")));
      return;
    }

  token = g_strdup_printf ("mien%u", g_random_int ());
  access->request_path = request_path (access->connection, token);
  subscribe (task);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "handle_token", g_variant_new_string (token));
  access->asked = TRUE;
  g_dbus_connection_call (access->connection, PORTAL_NAME, PORTAL_PATH, CAMERA_INTERFACE,
                          "AccessCamera", g_variant_new ("(a{sv})", &options),
                          G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE, -1,
                          g_task_get_cancellable (task), access_camera_cb, g_object_ref (task));
}

static void
bus_cb (GObject      *source,
        GAsyncResult *result,
        gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Access *access = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  access->connection = g_bus_get_finish (result, &error);
  if (access->done)
    return;
  if (access->connection == NULL)
    {
      access_fail (task, error, NULL);
      return;
    }
  g_dbus_connection_call (access->connection, PORTAL_NAME, PORTAL_PATH,
                          "org.freedesktop.DBus.Properties", "Get",
                          g_variant_new ("(ss)", CAMERA_INTERFACE, "IsCameraPresent"),
                          G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1,
                          g_task_get_cancellable (task), camera_present_cb, g_object_ref (task));
}

void
mien_camera_portal_open_async (GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  Access *access = g_new0 (Access, 1);

  g_task_set_source_tag (task, mien_camera_portal_open_async);
  g_task_set_name (task, "[mien] camera portal");
  g_task_set_task_data (task, access, access_free);
  if (cancellable != NULL)
    {
      /* A source rather than g_cancellable_connect (): the request is closed on this context,
       * whichever thread cancels. */
      access->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (access->cancel_source, G_SOURCE_FUNC (cancelled_cb),
                             g_object_ref (task), g_object_unref);
      g_source_set_static_name (access->cancel_source, "[mien] camera portal cancelled");
      g_source_attach (access->cancel_source, g_task_get_context (task));
    }
  g_bus_get (G_BUS_TYPE_SESSION, cancellable, bus_cb, g_object_ref (task));
}

int
mien_camera_portal_open_finish (GAsyncResult  *result,
                                GError       **error)
{
  g_autoptr(GUnixFDList) fds = NULL;
  g_autofree int *stolen = NULL;

  g_return_val_if_fail (g_task_is_valid (result, NULL), -1);
  g_return_val_if_fail (g_async_result_is_tagged (result, mien_camera_portal_open_async), -1);

  fds = g_task_propagate_pointer (G_TASK (result), error);
  if (fds == NULL)
    return -1;
  stolen = g_unix_fd_list_steal_fds (fds, NULL);
  return stolen[0];
}
