/* mien-core.h — everything of libmien that front ends use. */
#pragma once

#include "mien-torch.h"
#include "mien-safetensors.h"
#include "mien-var-store.h"
#include "mien-backbone.h"
#include "mien-face-detector.h"
#include "mien-plugin-engine.h"
#include "mien-nn.h"

G_BEGIN_DECLS

/* Progress of long work (decoding a dataset, training, evaluating): `fraction` in [0, 1] or -1
 * when unknown, `message` one short translated line. Called on the thread doing the work unless
 * a function says otherwise. */
typedef void (*MienProgressFunc) (double      fraction,
                                  const char *message,
                                  gpointer    user_data);

/* The index of `name` in `names` (the string forms of an enumeration, in its order); FALSE when
 * it is not there (or NULL). The caller reports the error in its own domain. */
gboolean mien_name_lookup (const char * const *names,
                           guint               n_names,
                           const char         *name,
                           guint              *index);

/* Queues `func` (with `data`, freed by `notify`) on `context` (NULL: the global default one) at
 * `priority`, from any thread. Unlike g_main_context_invoke(), it never runs `func` in the
 * calling thread: a worker that happens to acquire an idle main context would otherwise run
 * main-thread code (GTK's, say) itself. `name`, a static string, labels the source
 * for profilers. */
void mien_main_context_post (GMainContext   *context,
                             int             priority,
                             const char     *name,
                             GSourceFunc     func,
                             gpointer        data,
                             GDestroyNotify  notify);

/* Emits `signal_id` of `instance` (a GObject) with the one argument `value` on `context` (NULL:
 * the global default one), from any thread, as mien_main_context_post () queues a function:
 * how a worker hands its results to the main thread. Nothing is emitted once `instance` is
 * finalized, nor when the atomic int `*stopped` (a field of `instance`) is set by then, so that
 * nothing arrives after a stop. `value` is freed with `free_value` afterwards (or instead). */
void mien_main_context_emit (GMainContext   *context,
                             const char     *name,
                             gpointer        instance,
                             const gint     *stopped,
                             guint           signal_id,
                             gpointer        value,
                             GDestroyNotify  free_value);

/* Call once at start-up (idempotent): initialises libtorch's threads and gettext's domain. */
void mien_init (void);
/* `configured`, an absolute folder of the installation (config.h), or, when the running program
 * was moved with its installed tree (a DESTDIR, a Flatpak's /app, an unpacked archive), the same
 * folder under the prefix it runs from: `from_bindir` relative to the program's folder, when
 * that folder exists (empty `from_bindir`: always `configured`). */
char *mien_installed_dir (const char *configured,
                          const char *from_bindir);
/* Where gettext finds Mien's catalogues (mien_installed_dir () of LOCALEDIR). */
const char *mien_locale_dir (void);

G_END_DECLS
