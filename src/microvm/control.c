/* The control channel between the VMM and the guest init, on its own virtio-console
 * (hvc2): text lines. Host to guest: `signal N` (forward a signal to the container's
 * process), `winsize ROWS COLS`, `eof N` (the container's stdin ended after N bytes, all of
 * them already in hvc0's receive buffers: the guest init closes the process's stdin once it
 * has relayed N bytes, since hvc0's tty may hand the guest its last bytes after this line).
 * Guest to host: `exit N` or `signaled N`, the container's end (the last one wins), and
 * `ready`: hvc0 and hvc2 are open and set up, so the container's stdin and the host's lines
 * may flow (before that, a tty's line discipline would echo, edit or flush what arrives).
 * Other lines are ignored, so either side can grow the protocol. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio.h"

#define LINE_MAX_LEN 128
#define EOF_LINE_MAX 32 /* "eof " and a uint64_t's 20 digits and "\n" */

struct vm_control {
	struct vm_console *con;
	pthread_mutex_t lock; /* the line buffer and the result */
	char line[LINE_MAX_LEN];
	size_t len;
	bool overlong; /* the current line is too long: skip to its end */
	struct vm_control_status st;
	void (*on_ready)(void *ctx);
	void *ctx;
};

static bool parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*out = (int)v;
	return true;
}

void vm_control_parse_line(const char *line, struct vm_control_status *st)
{
	int v;
	if (!strncmp(line, "exit ", 5) && parse_int(line + 5, 0, 255, &v)) {
		st->have = st->exited = true;
		st->code = v;
		st->signo = 0;
	} else if (!strncmp(line, "signaled ", 9) && parse_int(line + 9, 1, 64, &v)) {
		st->have = true;
		st->exited = false;
		st->code = 0;
		st->signo = v;
	} else if (!strcmp(line, "ready")) {
		st->ready = true;
	}
}

static void on_tx(void *ctx, const uint8_t *buf, size_t len)
{
	struct vm_control *c = ctx;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < len; i++) {
		if (buf[i] != '\n') {
			if (c->len + 1 < sizeof c->line)
				c->line[c->len++] = (char)buf[i];
			else
				c->overlong = true;
			continue;
		}
		c->line[c->len] = 0;
		bool was_ready = c->st.ready;
		if (!c->overlong)
			vm_control_parse_line(c->line, &c->st);
		if (c->st.ready && !was_ready && c->on_ready)
			c->on_ready(c->ctx);
		c->len = 0;
		c->overlong = false;
	}
	pthread_mutex_unlock(&c->lock);
}

static const struct vm_console_ops control_ops = {.tx = on_tx, .hold_input = true};

struct vm_control *vm_control_new(const struct vm_bus *bus, unsigned irq,
				  void (*on_ready)(void *ctx), void *ctx, struct hull_err *err)
{
	struct vm_control *c = calloc(1, sizeof *c);
	if (!c) {
		hull_error(err, errno, "control channel");
		return NULL;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->on_ready = on_ready;
	c->ctx = ctx;
	c->con = vm_console_new(bus, irq, -1, -1, &control_ops, c, err);
	if (!c->con) {
		vm_control_free(c);
		return NULL;
	}
	return c;
}

void vm_control_free(struct vm_control *c)
{
	if (!c)
		return;
	vm_console_free(c->con);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void vm_control_start(struct vm_control *c)
{
	vm_console_start_input(c->con);
}

struct vm_virtio *vm_control_transport(struct vm_control *c)
{
	return vm_console_transport(c->con);
}

/* A full queue (the guest init is not reading) drops the line: signals are not worth
 * blocking the event loop for. The room for `eof N` stays free: without it the process
 * would wait for the end of its stdin forever. */
static void send_line(struct vm_control *c, const char *fmt, int a, int b)
{
	char line[64];
	int n = snprintf(line, sizeof line, fmt, a, b);
	vm_console_send(c->con, line, (size_t)n, EOF_LINE_MAX);
}

void vm_control_send_signal(struct vm_control *c, int signo)
{
	send_line(c, "signal %d\n", signo, 0);
}

void vm_control_send_winsize(struct vm_control *c, unsigned rows, unsigned cols)
{
	send_line(c, "winsize %d %d\n", (int)rows, (int)cols);
}

void vm_control_send_eof(struct vm_control *c, uint64_t bytes)
{
	char line[EOF_LINE_MAX];
	int n = snprintf(line, sizeof line, "eof %" PRIu64 "\n", bytes);
	vm_console_send(c->con, line, (size_t)n, 0);
}

bool vm_control_result(struct vm_control *c, bool *exited, int *code, int *signo)
{
	pthread_mutex_lock(&c->lock);
	bool have = c->st.have;
	*exited = c->st.exited;
	*code = c->st.code;
	*signo = c->st.signo;
	pthread_mutex_unlock(&c->lock);
	return have;
}
