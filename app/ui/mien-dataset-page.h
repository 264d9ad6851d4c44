/* mien-dataset-page.h — the Dataset page: what is in the open dataset, and how imbalanced.
 *
 * Class-count bar chart with the imbalance ratio; before/after charts of what upsampling and
 * class weights do to the effective class balance; thumbnails per class; mean/std and image
 * sizes; unreadable files. Actions (group "dataset"): "dataset.open" (folder), "dataset.open-csv". */
#pragma once

#include <adwaita.h>

#include "mien-chart.h"
#include "mien-studio.h"

G_BEGIN_DECLS

#define MIEN_TYPE_DATASET_PAGE (mien_dataset_page_get_type ())
G_DECLARE_FINAL_TYPE (MienDatasetPage, mien_dataset_page, MIEN, DATASET_PAGE, AdwBin)

GtkWidget    *mien_dataset_page_new             (MienStudio      *studio);
/* The class-count chart (series 0 = images per class), for tests. */
MienBarChart *mien_dataset_page_get_count_chart (MienDatasetPage *self);
/* The split selector, shown for a file with several splits (fer2013.csv). For tests. */
GtkDropDown  *mien_dataset_page_get_split_dropdown (MienDatasetPage *self);

G_END_DECLS
