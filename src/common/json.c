#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

int json_read_fileat(int dirfd, const char *path, char **text, size_t *len, struct hull_err *err)
{
	_cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return hull_error(err, errno, "open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return hull_error(err, errno, "stat %s", path);
	size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
	_cleanup_free_ char *buf = malloc(cap);
	if (buf == NULL)
		return hull_error(err, ENOMEM, "read %s", path);
	for (;;) {
		if (n + 1 >= cap) {
			char *bigger = realloc(buf, cap * 2);
			if (bigger == NULL)
				return hull_error(err, ENOMEM, "read %s", path);
			buf = bigger;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return hull_error(err, errno, "read %s", path);
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*text = steal_ptr(&buf);
	if (len != NULL)
		*len = n;
	return 0;
}

int json_read_file(const char *path, char **text, size_t *len, struct hull_err *err)
{
	return json_read_fileat(AT_FDCWD, path, text, len, err);
}

yajl_val json_parse(const char *text, struct hull_err *err)
{
	char msg[512] = "";
	yajl_val v = yajl_tree_parse(text, msg, sizeof msg);
	if (v == NULL) {
		/* yajl's message spans lines (it quotes the text); keep the first. */
		msg[strcspn(msg, "\n")] = '\0';
		hull_error(err, 0, "invalid JSON: %s", msg[0] ? msg : "parse error");
	}
	return v;
}

yajl_val json_get(yajl_val obj, const char *key)
{
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	/* From the end: of repeated keys the last counts, as in Go's encoding/json (runc, and
	 * the tools that write images), so a file means the same to hull as to them. */
	for (size_t i = obj->u.object.len; i-- > 0;)
		if (strcmp(obj->u.object.keys[i], key) == 0)
			return obj->u.object.values[i];
	return NULL;
}

yajl_gen json_gen_new(int pretty)
{
	yajl_gen g = yajl_gen_alloc(NULL);
	if (g == NULL)
		abort();
	yajl_gen_config(g, yajl_gen_beautify, pretty);
	yajl_gen_config(g, yajl_gen_indent_string, "  ");
	return g;
}

void json_str(yajl_gen g, const char *s)
{
	if (s == NULL)
		yajl_gen_null(g);
	else
		yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

void json_key(yajl_gen g, const char *key)
{
	json_str(g, key);
}

void json_key_str(yajl_gen g, const char *key, const char *value)
{
	json_str(g, key);
	json_str(g, value);
}

void json_key_int(yajl_gen g, const char *key, long long value)
{
	json_str(g, key);
	yajl_gen_integer(g, value);
}

void json_key_bool(yajl_gen g, const char *key, int value)
{
	json_str(g, key);
	yajl_gen_bool(g, value);
}

char *json_gen_finish(yajl_gen g)
{
	const unsigned char *buf;
	size_t len;
	yajl_gen_get_buf(g, &buf, &len);
	char *s = malloc(len + 1);
	if (s == NULL)
		abort();
	memcpy(s, buf, len);
	s[len] = '\0';
	yajl_gen_free(g);
	return s;
}
