/* A 16550-style UART at 0x3f8, enough for Linux's 8250 driver and its early console:
 * transmit only (the guest never receives on it), the divisor latch and scratch registers
 * read back what was written (the driver's probe checks that), and a THR-empty interrupt
 * on IRQ 4 for tty writes. Output goes to a debug fd, line-buffered, or nowhere. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm_internal.h"

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define LCR_DLAB    0x80
#define IER_THRI    0x02
#define IIR_NO_INT  0x01
#define IIR_THRI    0x02
#define IIR_FIFO    0xc0
#define LSR_THRE    0x20
#define LSR_TEMT    0x40
#define MSR_DEFAULT 0xb0 /* CTS, DSR, DCD: a modem that is always there */
#define SERIAL_LINE 256

struct vm_serial {
	const struct vm_bus *bus;
	int out_fd;
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thri_pending;
	size_t len;
	char line[SERIAL_LINE];
};

static void flush_line(struct vm_serial *s)
{
	size_t off = 0;
	while (off < s->len && s->out_fd >= 0) {
		ssize_t n = write(s->out_fd, s->line + off, s->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* a debug console: losing it must not stop the guest */
		off += (size_t)n;
	}
	s->len = 0;
}

static void update_irq(struct vm_serial *s)
{
	if (s->thri_pending && (s->ier & IER_THRI))
		vm_bus_pulse(s->bus, VM_IRQ_SERIAL);
}

static void put_char(struct vm_serial *s, uint8_t ch)
{
	if (s->out_fd >= 0) {
		s->line[s->len++] = (char)ch;
		if (ch == '\n' || s->len == sizeof s->line)
			flush_line(s);
	}
	s->thri_pending = true; /* the byte left at once: THR is empty again */
	update_irq(s);
}

static uint8_t reg_read(struct vm_serial *s, unsigned reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	switch (reg) {
	case RBR_THR:
		return dlab ? s->dll : 0;
	case IER:
		return dlab ? s->dlm : s->ier;
	case IIR_FCR: {
		uint8_t fifo = (s->fcr & 1) ? IIR_FIFO : 0;
		if (s->thri_pending && (s->ier & IER_THRI)) {
			s->thri_pending = false; /* reading IIR clears a THRE interrupt */
			return fifo | IIR_THRI;
		}
		return fifo | IIR_NO_INT;
	}
	case LCR:
		return s->lcr;
	case MCR:
		return s->mcr;
	case LSR:
		return LSR_THRE | LSR_TEMT;
	case MSR:
		return MSR_DEFAULT;
	default:
		return s->scr;
	}
}

static void reg_write(struct vm_serial *s, unsigned reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;
	switch (reg) {
	case RBR_THR:
		if (dlab)
			s->dll = v;
		else
			put_char(s, v);
		break;
	case IER:
		if (dlab) {
			s->dlm = v;
		} else {
			s->ier = v & 0x0f;
			s->thri_pending = true; /* enabling THRI with an empty THR interrupts */
			update_irq(s);
		}
		break;
	case IIR_FCR:
		s->fcr = v;
		break;
	case LCR:
		s->lcr = v;
		break;
	case MCR:
		s->mcr = v;
		break;
	case SCR:
		s->scr = v;
		break;
	}
}

static void serial_read(void *dev, uint64_t off, void *data, unsigned len)
{
	struct vm_serial *s = dev;
	pthread_mutex_lock(&s->lock);
	uint8_t v = reg_read(s, (unsigned)off & 7);
	pthread_mutex_unlock(&s->lock);
	memset(data, 0, len);
	*(uint8_t *)data = v;
}

static void serial_write(void *dev, uint64_t off, const void *data, unsigned len)
{
	(void)len;
	struct vm_serial *s = dev;
	pthread_mutex_lock(&s->lock);
	reg_write(s, (unsigned)off & 7, *(const uint8_t *)data);
	pthread_mutex_unlock(&s->lock);
}

const struct vm_io_ops vm_serial_ops = {.read = serial_read, .write = serial_write};

struct vm_serial *vm_serial_new(const struct vm_bus *bus, int out_fd, struct hull_err *err)
{
	struct vm_serial *s = calloc(1, sizeof *s);
	if (!s) {
		hull_error(err, errno, "serial port");
		return NULL;
	}
	s->bus = bus;
	s->out_fd = out_fd;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void vm_serial_free(struct vm_serial *s)
{
	if (!s)
		return;
	flush_line(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
