/* mien-face-model.c — the YuNet model file: its place and its checksum (mien-download.c fetches
 * it). */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "mien-face-model.h"

/* The 2022mar file: OpenCV 4.6's FaceDetectorYN cannot run the 2023mar one. */
static const MienFaceModelInfo yunet = {
  .name = "YuNet",
  .file_name = "face_detection_yunet_2022mar.onnx",
  .url = "https://github.com/opencv/opencv_zoo/raw/c97242ce7f2a554e288b50eabd9f5df957e78801/"
         "models/face_detection_yunet/face_detection_yunet_2022mar.onnx",
  .sha256 = "50ef07f702a31741ca46a4c0d947773b64143b9362780237bf0d427d6c79bab7",
  .size = 345478,
  .licence = "MIT",
};

const MienFaceModelInfo *
mien_face_model_get_yunet (void)
{
  return &yunet;
}

/* $MIEN_YUNET_MODEL, or NULL when it is unset or empty. */
static const char *
model_from_environment (void)
{
  const char *env = g_getenv ("MIEN_YUNET_MODEL");

  return env != NULL && env[0] != '\0' ? env : NULL;
}

char *
mien_face_model_get_download_path (void)
{
  const char *env = model_from_environment ();

  if (env != NULL)
    return g_strdup (env);
  return g_build_filename (g_get_user_data_dir (), "mien", "models", yunet.file_name, NULL);
}

char *
mien_face_model_get_default_path (void)
{
  g_autofree char *own = mien_face_model_get_download_path ();
  const char * const *dirs = g_get_system_data_dirs ();

  if (model_from_environment () != NULL || g_file_test (own, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&own);
  /* A copy that came with Mien: the Flatpak's /app/share, or a distribution's package. */
  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autofree char *shipped = g_build_filename (dirs[i], "mien", "models", yunet.file_name,
                                                   NULL);

      if (g_file_test (shipped, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&shipped);
    }
  return g_steal_pointer (&own);
}

MienFaceDetector *
mien_face_model_open_detector (MienPluginEngine *engine,
                               const char       *spec,
                               const char       *model_file,
                               GError          **error)
{
  g_autoptr(MienFaceDetector) detector = NULL;
  g_autofree char *method = NULL;
  g_autofree char *default_path = NULL;

  g_return_val_if_fail (MIEN_IS_PLUGIN_ENGINE (engine), NULL);

  detector = mien_plugin_engine_create_face_detector (engine, spec, &method, error);
  if (detector == NULL)
    return NULL;
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (detector), "model-file") != NULL)
    {
      if (model_file == NULL)
        model_file = default_path = mien_face_model_get_default_path ();
      g_object_set (detector, "model-file", model_file, NULL);
    }
  if (!mien_face_detector_prepare (detector, method, error))
    return NULL;
  return g_steal_pointer (&detector);
}

gboolean
mien_face_model_verify (const char  *path,
                        const char  *sha256,
                        gint64       expected_size,
                        GError     **error)
{
  g_return_val_if_fail (path != NULL && sha256 != NULL, FALSE);

  return mien_download_verify_file (path, sha256, expected_size, MIEN_DOWNLOAD_NONE, error);
}
