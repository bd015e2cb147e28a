/* How a person names an image: SOURCE[:REF] for `run --image`, and a ref, a source or
 * an id (prefix) for `image rm`. Pure rules, unit-tested. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "images.h"

#define HEX "0123456789abcdef"
/* Shorter id prefixes would too often name two images. */
#define MIN_ID_PREFIX 4

int image_split_source(const char *arg, bool (*exists)(const char *path), char **source, char **ref,
		       struct hull_err *err)
{
	*source = *ref = NULL;
	if (arg[0] == '\0')
		return hull_error(err, EINVAL, "--image: empty image source");
	if (exists(arg)) {
		*source = strdup(arg);
		return *source ? 0 : hull_error(err, ENOMEM, "--image");
	}
	/* From the right: the longest existing path wins, so a ref may hold ':' itself
	 * ("image.tar:busybox:latest") and so may a path. */
	for (const char *c = strrchr(arg, ':'); c != NULL;) {
		char *prefix = strndup(arg, (size_t)(c - arg));
		if (prefix == NULL)
			return hull_error(err, ENOMEM, "--image");
		if (prefix[0] != '\0' && exists(prefix)) {
			if (c[1] == '\0') {
				free(prefix);
				return hull_error(err, EINVAL, "--image %s: empty ref after ':'",
						  arg);
			}
			*source = prefix;
			*ref = strdup(c + 1);
			return *ref ? 0 : hull_error(err, ENOMEM, "--image");
		}
		free(prefix);
		do
			c--;
		while (c >= arg && *c != ':');
		if (c < arg)
			break;
	}
	return hull_error(err, ENOENT, "image source %s", arg);
}

static bool hex_prefix(const char *name, const char *digest)
{
	size_t n = strlen(name);
	if (digest == NULL)
		return false;
	if (strncmp(digest, "sha256:", 7) == 0)
		digest += 7;
	return n >= MIN_ID_PREFIX && n <= IMAGE_DIGEST_HEX && strspn(name, HEX) == n &&
	       strncmp(digest, name, n) == 0;
}

bool image_record_matches(const struct image_record *r, const char *name)
{
	if (r->ref != NULL && strcmp(r->ref, name) == 0)
		return true;
	if (r->source != NULL) {
		size_t n = strlen(r->source);
		if (strcmp(r->source, name) == 0)
			return true;
		if (r->ref != NULL && strncmp(name, r->source, n) == 0 && name[n] == ':' &&
		    strcmp(name + n + 1, r->ref) == 0)
			return true;
	}
	const char *id = strncmp(name, "sha256:", 7) == 0 ? name + 7 : name;
	return hex_prefix(id, r->id) || hex_prefix(id, r->config_digest);
}
