/* mien-ui-util.h — small things every page of the studio needs: file choosers that work inside
 * Flatpak (GtkFileChooserNative: GTK 4.8 has no GtkFileDialog), filters, formatting. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* Called with the chosen file, or NULL when the user cancelled. */
typedef void (*MienFileChosenFunc) (GFile    *file,
                                    gpointer  user_data);

/* Shows a native file chooser, modal to `parent`'s window. `filters` (may be NULL) is a
 * NULL-terminated array of filters, borrowed; `suggested_name` is for SAVE. */
void           mien_ui_choose_file     (GtkWidget            *parent,
                                        const char           *title,
                                        GtkFileChooserAction  action,
                                        const char           *accept_label,
                                        GtkFileFilter       **filters,
                                        const char           *suggested_name,
                                        MienFileChosenFunc    func,
                                        gpointer              user_data);
/* The same for several files (OPEN only): called once with a GListModel of GFile, or NULL. */
typedef void (*MienFilesChosenFunc) (GListModel *files,
                                     gpointer    user_data);
void           mien_ui_choose_files    (GtkWidget            *parent,
                                        const char           *title,
                                        GtkFileFilter       **filters,
                                        MienFilesChosenFunc   func,
                                        gpointer              user_data);

/* New filters (full reference): images GdkPixbuf reads, Mien model files (*.safetensors),
 * CSV files, PNG/SVG images. */
GtkFileFilter *mien_ui_filter_images   (void);
GtkFileFilter *mien_ui_filter_models   (void);
GtkFileFilter *mien_ui_filter_csv      (void);
GtkFileFilter *mien_ui_filter_png      (void);
GtkFileFilter *mien_ui_filter_svg      (void);
/* CSV manifests and the FER datasets as they are distributed (fer2013.csv, fer2013new.csv,
 * AffectNet's CSV files, RAF-DB's .txt list): what the Dataset and Evaluate pages open. */
GtkFileFilter *mien_ui_filter_datasets (void);

/* Shows `splits` (NULL-terminated, as mien_dataset_get_splits () gives them) in `dropdown` with
 * `shown` selected (the first when it is not among them), and the dropdown only when there is a
 * choice. "notify::selected" is emitted: block your handler around the call. */
void           mien_ui_show_splits     (GtkDropDown        *dropdown,
                                        const char * const *splits,
                                        const char         *shown);
/* Lists the splits of the dataset at `path` (mien_dataset_get_splits ()) in a thread: reading a
 * 300 MB fer2013.csv takes seconds. _finish () gives them NULL-terminated (free with
 * g_strfreev ()), or NULL and the error naming the file. */
void           mien_ui_list_splits_async  (const char          *path,
                                           GCancellable        *cancellable,
                                           GAsyncReadyCallback  callback,
                                           gpointer             user_data);
char         **mien_ui_list_splits_finish (GAsyncResult        *result,
                                           GError             **error);

/* "0:42", "12:05", "1:02:03"; "—" for a negative value. */
char          *mien_ui_format_duration (double      seconds);
/* "happiness" → "Happiness" (class names in headings, as the paper's tables write them). */
char          *mien_ui_capitalise      (const char *name);

/* A modal error message (AdwMessageDialog) on `widget`'s window. */
void           mien_ui_show_error      (GtkWidget    *widget,
                                        const char   *heading,
                                        const GError *error);

/* Where a `frame_width` × `frame_height` picture lies in `widget` with GtkPicture's "contain"
 * fit (scaled to fit, centred): its top left corner and its scale, so that overlays drawn over
 * a picture put frame pixels on what is on screen. */
void           mien_ui_contain_rect    (GtkWidget  *widget,
                                        int         frame_width,
                                        int         frame_height,
                                        double     *ox,
                                        double     *oy,
                                        double     *scale);

G_END_DECLS
