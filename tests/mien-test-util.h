/* mien-test-util.h — helpers shared by the g_test programs. */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "mien-model.h"
#include "mien-torch.h"

#ifdef MIEN_HAVE_SOUP
#include <libsoup/soup.h>
#endif

G_BEGIN_DECLS

/* A g_test fixture: a scratch folder, removed with whatever a test (or a failed one) left in it. */
typedef struct {
  char *dir;
} MienTestScratch;

void    mien_test_scratch_set_up    (MienTestScratch *scratch,
                                     gconstpointer    data);
void    mien_test_scratch_tear_down (MienTestScratch *scratch,
                                     gconstpointer    data);

/* `size` bytes of a GRand seeded with `seed`: the same on every run. Free with g_free ().
 * `sha256` (optional): their SHA-256 in lower-case hex. */
guint8 *mien_test_random_bytes      (guint32          seed,
                                     gsize            size,
                                     char           **sha256);
/* Writes `size` bytes of `data` at `path`, or fails the test. */
void    mien_test_write_file        (const char      *path,
                                     const void      *data,
                                     gsize            size);

/* Removes `path` and, for a folder, everything inside it (symbolic links are not followed). */
void    mien_test_remove_tree       (const char      *path);

/* Every tensor of two safetensors files is the same, byte for byte (their metadata may differ). */
void    mien_test_assert_same_tensors (const char    *path_a,
                                       const char    *path_b);

/* A `backbone` model spec at `input_size` px for `classes` in `mode`: colour, mean 0.5 and std
 * 0.25, on the CPU; the spec of every random model below. */
MienModelSpec mien_test_random_spec (const char         *backbone,
                                     int                 input_size,
                                     MienMode            mode,
                                     const char * const *classes);

/* A random model on the test fixture plugin "toy" (tests/plugins/toy: a backbone without
 * forward_hooked, so one that cannot be explained), variant "tiny" at 8 px. Its engine lives
 * until the test ends. `plugin_dir` (optional) receives the fixture's folder, for the
 * MIEN_PLUGIN_PATH of a child process (mien-cli) that must load the model's file. */
MienModel *mien_test_toy_model      (const char * const *classes,
                                     char              **plugin_dir);

/* A `backbone` ("resnet:18") model at `input_size` px for `classes`, grey or colour, randomly
 * initialised (fine-tuning, mean 0.5 and std 0.25, on the CPU): what it predicts means nothing,
 * for tests of what is done with predictions. Fails the test when it cannot be made. */
MienModel *mien_test_random_model   (const char         *backbone,
                                     int                 input_size,
                                     const char * const *classes,
                                     gboolean            grey);

/* `text` parsed as JSON, which must be an object (the test fails otherwise).
 * Returns: (transfer full). */
JsonObject *mien_test_parse_json_object (const char *text);

/* The values of any tensor (any dtype, any device) as a new array of doubles. */
double *mien_test_values_of         (MienTensor      *t,
                                     gsize           *n_out);

/* Writes `frames` (all of one size, RGB or RGBA) as a Motion-JPEG AVI at `fps` frames per
 * second, frame k at k/fps s, with GStreamer (appsrc ! videoconvert ! jpegenc ! avimux). Fails
 * with G_IO_ERROR_NOT_SUPPORTED in a build without GStreamer or without those elements (tests
 * then skip), with GStreamer's message otherwise. */
gboolean mien_test_write_video      (const char       *path,
                                     GdkPixbuf * const *frames,
                                     guint             n_frames,
                                     int               fps,
                                     GError          **error);
/* The same for tests that need the video: TRUE when it is written; FALSE, with the test marked
 * skipped, where this system cannot write one (G_IO_ERROR_NOT_SUPPORTED); any other failure
 * fails the test. */
gboolean mien_test_write_video_or_skip (const char        *path,
                                        GdkPixbuf * const *frames,
                                        guint              n_frames,
                                        int                fps);

/* $MIEN_CLI run with the NULL-terminated arguments, to its end: its exit status (or -signal)
 * and what it printed. */
typedef struct {
  int   status;
  char *out;
  char *err;
} MienTestCliResult;

MienTestCliResult *mien_test_cli_run            (const char        *first,
                                                 ...) G_GNUC_NULL_TERMINATED;
/* The same with the arguments in a NULL-terminated array. */
MienTestCliResult *mien_test_cli_runv           (const char * const *args);
void               mien_test_cli_result_free    (MienTestCliResult *result);
/* Fails the test with mien-cli's standard error unless it exited with 0. */
void               mien_test_cli_assert_success (MienTestCliResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MienTestCliResult, mien_test_cli_result_free)

/* The shared folder beside the repository (its photos/ and models/); NULL, and the test
 * skipped, when it is absent. A folder named by $MIEN_TEST_SHARED_DIR must exist: whoever set
 * it expects the tests that need it to run. */
char              *mien_test_shared_dir         (void);

/* `upright` as a phone saves a photo it took turned: the pixels stored a quarter turn
 * anticlockwise in a JPEG whose EXIF orientation (6, "turn 90° clockwise to show") puts them
 * upright again. Fails the test if it cannot be written. */
void               mien_test_write_turned_jpeg  (const char        *path,
                                                 GdkPixbuf         *upright);

#ifdef MIEN_HAVE_SOUP
/* A web server on 127.0.0.1, on its own thread and main context (a download blocks the test's
 * thread): `handler` answers every path, on the server's thread. */
typedef struct _MienTestWebServer MienTestWebServer;

MienTestWebServer *mien_test_web_server_start    (SoupServerCallback  handler,
                                                  gpointer            user_data);
/* "http://127.0.0.1:PORT" */
const char        *mien_test_web_server_get_base (MienTestWebServer  *server);
void               mien_test_web_server_stop     (MienTestWebServer  *server);
#endif
/* Runs tests/SCRIPT (a Python reference) with $MIEN_REFERENCE_PYTHON and the NULL-terminated
 * arguments, to its end; fails the test with the script's standard error unless it exits with 0.
 * Returns its standard output, or NULL, with the test marked skipped, where there is no python
 * with torch and torchvision. */
char              *mien_test_run_reference      (const char        *script,
                                                 const char        *first,
                                                 ...) G_GNUC_NULL_TERMINATED;
/* The same with a NULL-terminated array of arguments (NULL: none). */
char              *mien_test_run_referencev     (const char        *script,
                                                 const char * const *args);

G_END_DECLS
