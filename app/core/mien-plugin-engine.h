/* mien-plugin-engine.h — finds, checks and loads plugin modules.
 *
 * A plugin is a shared object beside a key file FAMILY.plugin:
 *
 *   [Plugin]
 *   Module=resnet          # the module file is resnet.so beside the key file; also the family id
 *   Name=ResNet
 *   Description=Residual networks with torchvision's parameter names
 *   X-Mien-Abi=1           # must equal MIEN_PLUGIN_ABI
 *   X-Mien-Kind=backbone
 *
 * Search order (first plugin of an id wins, later duplicates are reported and skipped):
 * every folder in MIEN_PLUGIN_PATH (colon-separated), then the build tree when the running
 * program is itself in the build tree, then the install folder. Loading follows gnome-software:
 * check the ABI in the key file, open the module, look up mien_plugin_query_type (), check the
 * type implements the interface of its kind (X-Mien-Kind=backbone: MienBackbone, face-detector:
 * MienFaceDetector), make the module resident. Anything that fails is recorded as an
 * error string (see mien_plugin_engine_get_errors ()) and skipped: never a crash, never fatal.
 */
#pragma once

#include <glib-object.h>
#include "mien-backbone.h"
#include "mien-face-detector.h"

G_BEGIN_DECLS

#define MIEN_PLUGIN_ERROR (mien_plugin_error_quark ())
GQuark mien_plugin_error_quark (void);

typedef enum {
  MIEN_PLUGIN_ERROR_KEY_FILE,     /* unreadable or incomplete .plugin file */
  MIEN_PLUGIN_ERROR_ABI,          /* X-Mien-Abi differs from this build's */
  MIEN_PLUGIN_ERROR_MODULE,       /* the shared object would not open (corrupt, missing deps) */
  MIEN_PLUGIN_ERROR_SYMBOL,       /* no mien_plugin_query_type () */
  MIEN_PLUGIN_ERROR_TYPE,         /* the type does not implement the interface of its kind */
  MIEN_PLUGIN_ERROR_DUPLICATE,    /* an id already provided by an earlier plugin */
  MIEN_PLUGIN_ERROR_NOT_FOUND,    /* no loaded plugin of that id */
} MienPluginError;

typedef struct {
  char  *id;           /* Module= : "resnet" */
  char  *name;         /* Name= : "ResNet" */
  char  *description;
  char  *kind;         /* "backbone" or "face-detector" */
  char  *module_path;  /* absolute path of the .so */
  GType  type;
} MienPluginInfo;

#define MIEN_TYPE_PLUGIN_ENGINE (mien_plugin_engine_get_type ())
G_DECLARE_FINAL_TYPE (MienPluginEngine, mien_plugin_engine, MIEN, PLUGIN_ENGINE, GObject)

/* An engine with the default search path (not yet loaded). */
MienPluginEngine *mien_plugin_engine_new          (void);
/* The process-wide engine, loaded on first use. Thread-safe. */
MienPluginEngine *mien_plugin_engine_get_default  (void);
/* Replaces the search path (for tests); NULL-terminated. Only before the engine has loaded. */
void              mien_plugin_engine_set_search_path (MienPluginEngine   *self,
                                                      const char * const *dirs);
const char * const *mien_plugin_engine_get_search_path (MienPluginEngine *self);
/* Scans the search path once; calling again does nothing. The getters below call it on first
 * use, so calling it is only needed to choose when the scanning happens. */
void              mien_plugin_engine_load         (MienPluginEngine *self);

/* Loaded plugins, sorted by id. Borrowed. */
GPtrArray        *mien_plugin_engine_get_plugins  (MienPluginEngine *self);
const MienPluginInfo *mien_plugin_engine_find     (MienPluginEngine *self,
                                                   const char       *id);
/* One line per problem met while loading: "PATH: reason". Borrowed, NULL-terminated. */
const char * const *mien_plugin_engine_get_errors (MienPluginEngine *self);

/* "FAMILY" or "FAMILY:VARIANT" → a new, unbuilt backbone of that family; `variant_out` (may be
 * NULL) receives the variant part (or NULL). */
MienBackbone     *mien_plugin_engine_create_backbone (MienPluginEngine  *self,
                                                      const char        *spec,
                                                      char             **variant_out,
                                                      GError           **error);

/* "PLUGIN" or "PLUGIN:METHOD" → a new, unprepared face detector of that plugin; NULL or "" gives
 * the first face-detector plugin (by id). `method_out` (may be NULL) receives the method part (or
 * NULL, meaning the plugin's first available method); an unknown method name is an error here. */
MienFaceDetector *mien_plugin_engine_create_face_detector (MienPluginEngine  *self,
                                                          const char        *spec,
                                                          char             **method_out,
                                                          GError           **error);

G_END_DECLS
