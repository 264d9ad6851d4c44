/* mien-test-util.h — helpers shared by the g_test programs. */
#pragma once

#include <glib.h>

#include "mien-torch.h"

G_BEGIN_DECLS

/* A g_test fixture: a scratch folder, removed with whatever a test (or a failed one) left in it. */
typedef struct {
  char *dir;
} MienTestScratch;

void    mien_test_scratch_set_up    (MienTestScratch *scratch,
                                     gconstpointer    data);
void    mien_test_scratch_tear_down (MienTestScratch *scratch,
                                     gconstpointer    data);

/* Removes `path` and, for a folder, everything inside it (symbolic links are not followed). */
void    mien_test_remove_tree       (const char      *path);

/* Every tensor of two safetensors files is the same, byte for byte (their metadata may differ). */
void    mien_test_assert_same_tensors (const char    *path_a,
                                       const char    *path_b);

/* The values of any tensor (any dtype, any device) as a new array of doubles. */
double *mien_test_values_of         (MienTensor      *t,
                                     gsize           *n_out);

G_END_DECLS
