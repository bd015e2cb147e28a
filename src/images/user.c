/* An image config's User resolved the way docker and umoci do it: against the image's
 * own /etc/passwd and /etc/group (read inside the rootfs, never the host's). */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/safepath.h"
#include "images.h"

#define MAX_FIELDS 7

struct entry {
	char *f[MAX_FIELDS]; /* pointers into a line copy */
	int n;
};

/* Split "a:b:c" in place. */
static void split_line(char *line, struct entry *e)
{
	e->n = 0;
	while (line != NULL && e->n < MAX_FIELDS)
		e->f[e->n++] = strsep(&line, ":");
}

static bool parse_id(const char *s, unsigned *out)
{
	char *end;
	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (*end != '\0' || errno != 0 || v > 0xfffffffeUL)
		return false;
	*out = (unsigned)v;
	return true;
}

/* The line of text whose field `key` (0: name, 2: id) equals want; malloc'd copy. */
static char *find_line(const char *text, int key, const char *want, struct entry *e)
{
	for (const char *p = text; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, len);
		p = nl ? nl + 1 : NULL;
		if (line == NULL)
			return NULL;
		split_line(line, e);
		if (e->n > key && e->n >= 4 && strcmp(e->f[key], want) == 0)
			return line;
		free(line);
	}
	return NULL;
}

static int add_gid(struct image_user *u, unsigned gid)
{
	for (size_t i = 0; i < u->n_gids; i++)
		if (u->gids[i] == gid)
			return 0;
	unsigned *g = realloc(u->gids, (u->n_gids + 1) * sizeof *g);
	if (g == NULL)
		return -1;
	u->gids = g;
	u->gids[u->n_gids++] = gid;
	return 0;
}

/* Groups that list name as a member (/etc/group's fourth field). */
static int member_groups(const char *group, const char *name, struct image_user *u)
{
	for (const char *p = group; p != NULL && *p != '\0';) {
		const char *nl = strchr(p, '\n');
		_cleanup_free_ char *line = strndup(p, nl ? (size_t)(nl - p) : strlen(p));
		p = nl ? nl + 1 : NULL;
		struct entry e;
		unsigned gid;
		if (line == NULL)
			return -1;
		split_line(line, &e);
		if (e.n < 4 || !parse_id(e.f[2], &gid))
			continue;
		for (char *m = e.f[3], *tok; (tok = strsep(&m, ",")) != NULL;)
			if (strcmp(tok, name) == 0 && add_gid(u, gid) < 0)
				return -1;
	}
	return 0;
}

static int resolve_group(const char *spec, const char *group, struct image_user *u,
			 struct hull_err *err)
{
	struct entry e;
	if (parse_id(spec, &u->gid))
		return 0;
	_cleanup_free_ char *line = group ? find_line(group, 0, spec, &e) : NULL;
	if (line == NULL || !parse_id(e.f[2], &u->gid))
		return hull_error(err, ENOENT, "group %s not found in the image's /etc/group",
				  spec);
	return 0;
}

int image_resolve_user(const char *spec, const char *passwd, const char *group,
		       struct image_user *out, struct hull_err *err)
{
	struct image_user u = {0};
	struct entry e;
	char copy[256];
	if (snprintf(copy, sizeof copy, "%s", spec ? spec : "") >= (int)sizeof copy)
		return hull_error(err, ENAMETOOLONG, "image config User");
	char *gpart = strchr(copy, ':');
	if (gpart != NULL)
		*gpart++ = '\0';
	const char *upart = copy[0] ? copy : "0";
	bool numeric = parse_id(upart, &u.uid);
	_cleanup_free_ char *line = passwd ? find_line(passwd, numeric ? 2 : 0, upart, &e) : NULL;
	if (line == NULL && !numeric)
		return hull_error(err, ENOENT, "user %s not found in the image's /etc/passwd",
				  upart);
	if (line != NULL && (!parse_id(e.f[2], &u.uid) || !parse_id(e.f[3], &u.gid)))
		return hull_error(err, 0, "the image's /etc/passwd: bad entry for %s", upart);
	if (line != NULL && e.n > 5 && e.f[5][0] == '/' && (u.home = strdup(e.f[5])) == NULL)
		return hull_error(err, ENOMEM, "user");
	if (gpart != NULL && gpart[0] && resolve_group(gpart, group, &u, err) < 0) {
		image_user_free(&u);
		return -1;
	}
	if (line != NULL && group != NULL && member_groups(group, e.f[0], &u) < 0) {
		image_user_free(&u);
		return hull_error(err, ENOMEM, "user");
	}
	*out = u;
	return 0;
}

void image_user_free(struct image_user *u)
{
	free(u->gids);
	free(u->home);
	u->gids = NULL;
	u->home = NULL;
	u->n_gids = 0;
}
