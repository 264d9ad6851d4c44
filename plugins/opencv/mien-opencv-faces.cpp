/* mien-opencv-faces.cpp — the OpenCV side of mien-opencv-faces.h.
 *
 * Everything C++ of the plugin stays in this file. Each extern "C" entry point runs its body
 * through guard (), which turns every exception (cv::Exception, std::exception, anything) into a
 * GError, so that nothing unwinds into the plugin's C frames.
 */
#include "mien-opencv-faces.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>
#include <opencv2/objdetect/face.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

struct _MienOpencvFaces
{
  cv::Ptr<cv::FaceDetectorYN> yunet;    /* set for YuNet */
  cv::CascadeClassifier       cascade;  /* loaded for Haar and LBP */
  MienOpencvCascadeParams     params;
  /* Per-frame buffers, kept between frames (an instance serves one thread at a time). */
  cv::Mat                     bgr;
  cv::Mat                     grey;
  cv::Mat                     scaled;   /* YuNet's input for frames out of its range of sizes */
  cv::Mat                     padded;   /* the same, bordered up to yunet_min_input */
};

namespace {

/* An error that already carries its code, thrown by our own checks. */
class FacesError : public std::runtime_error
{
public:
  FacesError (MienFaceDetectorError code, const std::string &message)
    : std::runtime_error (message), code_ (code) {}
  MienFaceDetectorError code () const { return code_; }

private:
  MienFaceDetectorError code_;
};

/* Runs `f`, turning any exception into `error` with `failure_code` (the code of the step that
 * was running: loading a model or detecting) and returning `failure`. */
template <class R, class F>
R
guard (GError              **error,
       MienFaceDetectorError failure_code,
       R                     failure,
       F                   &&f) noexcept
{
  try
    {
      return f ();
    }
  catch (const FacesError &e)
    {
      g_set_error_literal (error, MIEN_FACE_DETECTOR_ERROR, e.code (), e.what ());
    }
  catch (const cv::Exception &e)
    {
      /* what () repeats file, line and function; the message alone is what a user can act on. */
      const char *message = e.err.empty () ? e.what () : e.err.c_str ();

      g_set_error (error, MIEN_FACE_DETECTOR_ERROR, failure_code, "OpenCV: %s", message);
    }
  catch (const std::bad_alloc &)
    {
      g_set_error_literal (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_FAILED,
                           "Out of memory");
    }
  catch (const std::exception &e)
    {
      g_set_error (error, MIEN_FACE_DETECTOR_ERROR, failure_code, "OpenCV: %s", e.what ());
    }
  catch (...)
    {
      g_set_error_literal (error, MIEN_FACE_DETECTOR_ERROR, failure_code,
                           "OpenCV: unknown C++ exception");
    }
  return failure;
}

/* A frame of any size would do for create (); detect () sets the real size for each frame. */
const cv::Size yunet_initial_size (320, 320);

/* YuNet's largest anchors are 256 px: a face much larger than that (a selfie's, 500 px in a
 * 2048×1536 photo) came out as two overlapping boxes, forehead-to-nose and nose-to-chin, that its
 * NMS keeps both of. Larger frames are shrunk to this longer side first, which keeps faces of
 * a frame's full height within reach and faces of 10 px at this size (32 px in a 2048 px photo)
 * detectable, and costs a tenth of the time on such photos. Webcam frames are not touched. */
const int yunet_max_side = 640;

/* The 2022mar network, in OpenCV 4.6, throws on an input with a side under 63 px (a pooling
 * layer's output is empty: "total(os[i]) > 0"); a multiple of 32 has nothing to do with it (49 to
 * 62 fail, 63, 65 and 129 pass). FER2013's faces are 48 px. On grey, tight crops of the shared
 * photos' faces (15 faces × margins 0, 0.1 and 0.2), YuNet finds (score ≥ 0.9) all 45 at 80 and
 * 96 px but 42 at 64 px; scaled up to 96 px it finds 44 of 45 24-px crops, where padding them to
 * 64 px finds 21. So frames whose shorter side is under yunet_min_side are scaled up to it
 * (within yunet_max_side), and what is still under the network's minimum (a 4 × 600 strip) is
 * padded at the right and bottom, where no coordinate moves. */
const int yunet_min_side = 96;
const int yunet_min_input = 64;

/* When the caller wants no face under `min_face_size` pixels (the Live page: a twelfth of the
 * frame's shorter side, 40 px at 480 lines), the frame is searched shrunk so that such a face
 * is this many pixels at the network's input: YuNet finds faces of that size with full scores,
 * and a 640 × 480 frame searched for faces of 40 px costs a quarter of the time. */
const int yunet_min_face_input = 20;

void
append_face (GArray       *faces,
             const float  *box,
             float         score,
             const float  *landmarks)
{
  MienFace face = {};

  face.x = box[0];
  face.y = box[1];
  face.width = box[2];
  face.height = box[3];
  face.score = std::clamp (score, 0.0f, 1.0f);
  if (landmarks != nullptr)
    {
      face.has_landmarks = TRUE;
      for (int i = 0; i < MIEN_FACE_N_LANDMARKS; i++)
        {
          face.landmarks[i][0] = landmarks[2 * i];
          face.landmarks[i][1] = landmarks[2 * i + 1];
        }
    }
  g_array_append_val (faces, face);
}

/* The frame at a size YuNet takes (see yunet_min_side), and per axis the factor from its pixels
 * back to the frame's. */
const cv::Mat &
yunet_input (MienOpencvFaces *self,
             int              min_face_size,
             float           *to_frame_x,
             float           *to_frame_y)
{
  const cv::Mat *input = &self->bgr;
  int longer = std::max (self->bgr.cols, self->bgr.rows);
  int shorter = std::min (self->bgr.cols, self->bgr.rows);
  double scale = 1.0;

  if (longer > yunet_max_side)
    scale = (double) yunet_max_side / longer;
  else if (shorter < yunet_min_side)
    scale = std::min ((double) yunet_min_side / shorter, (double) yunet_max_side / longer);
  /* Never below yunet_min_side, which is what small frames are scaled up to. */
  if (min_face_size > yunet_min_face_input && shorter * scale > yunet_min_side)
    scale = std::min (scale, std::max ((double) yunet_min_face_input / min_face_size,
                                       (double) yunet_min_side / shorter));
  if (scale != 1.0)
    {
      cv::Size size (std::max (1, (int) std::lround (self->bgr.cols * scale)),
                     std::max (1, (int) std::lround (self->bgr.rows * scale)));

      cv::resize (self->bgr, self->scaled, size, 0, 0,
                  scale < 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
      input = &self->scaled;
    }
  /* Each axis's own factor: rounding made them differ by up to half a pixel. */
  *to_frame_x = (float) self->bgr.cols / input->cols;
  *to_frame_y = (float) self->bgr.rows / input->rows;

  if (std::min (input->cols, input->rows) < yunet_min_input)
    {
      cv::copyMakeBorder (*input, self->padded, 0, std::max (0, yunet_min_input - input->rows),
                          0, std::max (0, yunet_min_input - input->cols), cv::BORDER_CONSTANT,
                          cv::Scalar::all (0));
      input = &self->padded;
    }
  return *input;
}

void
detect_yunet (MienOpencvFaces *self,
              int              min_face_size,
              float            score_threshold,
              GArray          *faces)
{
  cv::Mat found;
  float to_frame_x, to_frame_y;
  const cv::Mat &input = yunet_input (self, min_face_size, &to_frame_x, &to_frame_y);

  self->yunet->setInputSize (input.size ());
  self->yunet->setScoreThreshold (score_threshold);
  self->yunet->detect (input, found);

  if (found.empty ())
    return;
  /* Each row: box (x, y, w, h), five landmarks (x, y), score: 15 floats. */
  if (found.type () != CV_32F || found.cols < 15)
    throw FacesError (MIEN_FACE_DETECTOR_ERROR_FAILED,
                      "YuNet returned rows of an unexpected shape (is it the 2022mar model?)");

  for (int r = 0; r < found.rows; r++)
    {
      const float *raw = found.ptr<float> (r);
      float row[14];

      /* Back to frame pixels: box and landmarks alike are (x, y) pairs. */
      for (int i = 0; i < 14; i++)
        row[i] = raw[i] * (i % 2 == 0 ? to_frame_x : to_frame_y);
      if (std::min (row[2], row[3]) < (float) min_face_size || !std::isfinite (raw[14]))
        continue;
      append_face (faces, row, raw[14], row + 4);
    }
}

void
detect_cascade (MienOpencvFaces *self,
                int              min_face_size,
                GArray          *faces)
{
  std::vector<cv::Rect> found;
  cv::Size window = self->cascade.getOriginalWindowSize ();
  int min_side = std::max ({ min_face_size, window.width, window.height });

  cv::cvtColor (self->bgr, self->grey, cv::COLOR_BGR2GRAY);
  if (self->params.equalise)
    cv::equalizeHist (self->grey, self->grey);

  self->cascade.detectMultiScale (self->grey, found, self->params.scale_factor,
                                  self->params.min_neighbours, 0,
                                  cv::Size (min_side, min_side));

  for (const cv::Rect &r : found)
    {
      const float box[4] = { (float) r.x, (float) r.y, (float) r.width, (float) r.height };

      /* A cascade has no confidence of its own: every face it keeps passed all its stages. */
      append_face (faces, box, 1.0f, nullptr);
    }
}

/* Detection runs on the calling thread alone: OpenCV's worker threads (TBB) speed the cascades
 * up little, and their spinning slows down the classifier that runs beside the detector (the
 * Live page's second thread) or right after it (libtorch's threads), by up to ten times on two
 * cores (tests/bench/bench-faces). */
void
use_one_thread ()
{
  static std::once_flag once;

  std::call_once (once, [] { cv::setNumThreads (1); });
}

} /* namespace */

extern "C" {

MienOpencvFaces *
mien_opencv_faces_new_yunet (const char  *model_path,
                             GError     **error)
{
  g_return_val_if_fail (model_path != NULL, NULL);

  return guard (error, MIEN_FACE_DETECTOR_ERROR_MODEL, (MienOpencvFaces *) nullptr, [&] {
    std::unique_ptr<MienOpencvFaces> self (new MienOpencvFaces ());

    use_one_thread ();

    /* OpenCV would report a missing file as a parser failure; this says what is wrong. */
    if (!g_file_test (model_path, G_FILE_TEST_IS_REGULAR))
      throw FacesError (MIEN_FACE_DETECTOR_ERROR_MODEL,
                        std::string ("no YuNet model file ") + model_path);

    /* OpenCV's messages ("model_proto.has_graph()") do not say which file they are about. */
    try
      {
        self->yunet = cv::FaceDetectorYN::create (model_path, "", yunet_initial_size);
      }
    catch (const cv::Exception &e)
      {
        throw FacesError (MIEN_FACE_DETECTOR_ERROR_MODEL,
                          std::string ("OpenCV could not load the YuNet model ") + model_path +
                          ": " + (e.err.empty () ? e.what () : e.err));
      }
    if (self->yunet.empty ())
      throw FacesError (MIEN_FACE_DETECTOR_ERROR_MODEL,
                        std::string ("OpenCV could not load the YuNet model ") + model_path);
    return self.release ();
  });
}

MienOpencvFaces *
mien_opencv_faces_new_cascade (const char                    *cascade_path,
                               const MienOpencvCascadeParams *params,
                               GError                       **error)
{
  g_return_val_if_fail (cascade_path != NULL, NULL);
  g_return_val_if_fail (params != NULL && params->scale_factor > 1.0, NULL);

  return guard (error, MIEN_FACE_DETECTOR_ERROR_MODEL, (MienOpencvFaces *) nullptr, [&] {
    std::unique_ptr<MienOpencvFaces> self (new MienOpencvFaces ());

    use_one_thread ();

    if (!g_file_test (cascade_path, G_FILE_TEST_IS_REGULAR))
      throw FacesError (MIEN_FACE_DETECTOR_ERROR_MODEL,
                        std::string ("no cascade file ") + cascade_path);
    /* load () reports a file that is not a cascade by returning false, not by throwing. */
    if (!self->cascade.load (cascade_path) || self->cascade.empty ())
      throw FacesError (MIEN_FACE_DETECTOR_ERROR_MODEL,
                        std::string ("not an OpenCV cascade: ") + cascade_path);
    self->params = *params;
    return self.release ();
  });
}

void
mien_opencv_faces_free (MienOpencvFaces *self)
{
  /* Destructors of OpenCV objects do not throw; the guard only keeps that promise explicit. */
  GError *ignored = nullptr;

  guard (&ignored, MIEN_FACE_DETECTOR_ERROR_FAILED, false, [&] { delete self; return true; });
  g_clear_error (&ignored);
}

gboolean
mien_opencv_faces_detect (MienOpencvFaces *self,
                          const guint8    *rgb,
                          int              width,
                          int              height,
                          int              rowstride,
                          int              min_face_size,
                          float            score_threshold,
                          GArray          *faces,
                          GError         **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (faces != NULL, FALSE);

  if (rgb == NULL || width <= 0 || height <= 0 || rowstride < width * 3)
    {
      g_set_error (error, MIEN_FACE_DETECTOR_ERROR, MIEN_FACE_DETECTOR_ERROR_INPUT,
                   "Face detection got an empty or malformed frame (%d×%d, %d bytes a row)",
                   width, height, rowstride);
      return FALSE;
    }

  guint first = faces->len;
  gboolean ok = guard (error, MIEN_FACE_DETECTOR_ERROR_FAILED, FALSE, [&] {
    /* Wraps the caller's pixels without copying; OpenCV only reads them here. */
    const cv::Mat frame (height, width, CV_8UC3, const_cast<guint8 *> (rgb), (size_t) rowstride);

    /* Both detectors were trained on OpenCV's usual BGR order. */
    cv::cvtColor (frame, self->bgr, cv::COLOR_RGB2BGR);

    if (self->yunet)
      detect_yunet (self, min_face_size, score_threshold, faces);
    else
      detect_cascade (self, min_face_size, faces);
    return TRUE;
  });

  /* Nothing half-appended survives a throw: the caller's array is as it was. */
  if (!ok)
    g_array_set_size (faces, first);
  return ok;
}

} /* extern "C" */
