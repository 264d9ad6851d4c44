/* fuzz-util.h — what the harnesses of tests/fuzz share: strict logging and a scratch folder.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

G_BEGIN_DECLS

/* libFuzzer's entry point, defined by each harness and called by libFuzzer or by replay-main.c. */
int   LLVMFuzzerTestOneInput  (const uint8_t *data,
                               size_t         size);

/* Makes g_critical and g_warning abort (a failed precondition inside a parser is a bug, so the
 * fuzzer must see it as a crash). Cheap: the harnesses call it on every input. */
void  mien_fuzz_init          (void);

/* What every refused input must come with: an error, of `domain` unless that is 0, with a
 * message. */
void  mien_fuzz_assert_error  (const GError  *error,
                               GQuark         domain);

/* A private folder for the files a harness needs (in /dev/shm when it can), made on first use,
 * emptied and removed at exit. Owned by fuzz-util.c. */
const char *mien_fuzz_dir     (void);

/* Writes `size` bytes to `name` in mien_fuzz_dir () and returns its path. Plain open/write:
 * g_file_set_contents would fsync on every input. Aborts if the file cannot be written, since
 * the input would then not be tested at all. */
char *mien_fuzz_write_file    (const char    *name,
                               const void    *data,
                               size_t         size);

G_END_DECLS
