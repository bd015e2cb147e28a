/* config.json in, typed struct oci_spec out (see src/common/oci.h). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/oci.h"

/* The runtime-spec version hull implements: the newest config it takes, what `state`
 * and the hooks' state documents follow, what `features` and `--version` report. */
#define SPEC_OCI_VERSION "1.3.0"

/* Read and validate BUNDLE/config.json. On success *raw (if not NULL) receives the file's
 * text (malloc'd) so the caller can keep a copy with the container's state. Errors read
 * "config.json: process.args: must be a non-empty array of strings". */
int spec_load(const char *bundle, struct oci_spec *spec, char **raw, struct hull_err *err);

/* Same from text; bundle must be absolute (paths in the config resolve against it). */
int spec_parse(const char *text, size_t len, const char *bundle, struct oci_spec *spec,
	       struct hull_err *err);

void spec_free(struct oci_spec *spec);

/* A linux.resources object on its own (`update --resources FILE`), into r; strings in a.
 * Errors name the field as "<what>: memory.limit: must be an integer". */
int spec_parse_resources_text(const char *text, const char *what, struct arena *a,
			      struct oci_resources *r, struct hull_err *err);

/* A process object on its own (`exec --process FILE`), validated as config.json's. */
int spec_parse_process_text(const char *text, const char *what, struct arena *a,
			    struct oci_process *p, struct hull_err *err);

/* Add name to caps->unknown (strings in a), unless it is listed already. */
void spec_caps_note_unknown(struct arena *a, struct oci_caps *caps, const char *name);

/* The default config.json `hull spec` writes (malloc'd, NUL-terminated). */
char *spec_default_config(bool rootless, struct hull_err *err);

/* Mount option names hull understands, NULL-terminated (for `features`). */
extern const char *const spec_mount_option_names[];
