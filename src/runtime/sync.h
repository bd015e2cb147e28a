/* Parent <-> init messages over a SOCK_SEQPACKET pair: one message per packet. */
#pragma once
#include "common/err.h"

enum sync_type {
	SYNC_GO = 1,	     /* parent: maps written, cgroup joined; set up */
	SYNC_CREATE_RUNTIME, /* init: mounts done; run prestart/createRuntime hooks */
	SYNC_HOOKS_DONE,     /* parent: done; text = the state for createContainer hooks */
	SYNC_STATE_CREATED,  /* parent: text = the state for startContainer hooks */
	SYNC_PTY,	     /* init: the pty master follows as SCM_RIGHTS */
	SYNC_READY,	     /* init: blocked on the exec fifo next */
	SYNC_ERROR,	     /* init: setup failed; text = the message, code = errno */
};

struct sync_msg {
	int type;
	int code;
	char text[8192];
};

int sync_send(int fd, int type, int code, const char *text, struct hull_err *err);
/* Returns 0, or -1 with err set; a closed peer is reported as EPIPE. */
int sync_recv(int fd, struct sync_msg *msg, struct hull_err *err);
/* Receive and require one type; a SYNC_ERROR becomes err. */
int sync_expect(int fd, int type, struct sync_msg *msg, struct hull_err *err);
