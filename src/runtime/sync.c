#include "sync.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int sync_send(int fd, int type, int code, const char *text, struct hull_err *err)
{
	struct sync_msg msg = {.type = type, .code = code};
	if (text != NULL)
		snprintf(msg.text, sizeof msg.text, "%s", text);
	size_t len = offsetof(struct sync_msg, text) + strlen(msg.text) + 1;
	if (send(fd, &msg, len, MSG_NOSIGNAL) < 0)
		return hull_error(err, errno, "sync with container init");
	return 0;
}

int sync_recv(int fd, struct sync_msg *msg, struct hull_err *err)
{
	ssize_t n;
	do
		n = recv(fd, msg, sizeof *msg, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return hull_error(err, errno, "sync with container init");
	if (n < (ssize_t)offsetof(struct sync_msg, text))
		return hull_error(err, EPIPE, "container init exited during setup");
	msg->text[sizeof msg->text - 1] = '\0';
	if (n == (ssize_t)offsetof(struct sync_msg, text))
		msg->text[0] = '\0';
	return 0;
}

int sync_expect(int fd, int type, struct sync_msg *msg, struct hull_err *err)
{
	if (sync_recv(fd, msg, err) < 0)
		return -1;
	if (msg->type == SYNC_ERROR)
		return hull_error(err, msg->code, "%s", msg->text);
	if (msg->type != type)
		return hull_error(err, EPROTO, "unexpected message %d from container init",
				  msg->type);
	return 0;
}
