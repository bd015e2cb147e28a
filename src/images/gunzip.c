/* gzip decoding for layer blobs: ISA-L's igzip inflates several times faster than zlib,
 * which is what unpacking a gzip layer mostly waits on.
 *
 * The member header (RFC 1952 section 2.3) is parsed here, a byte at a time, so that it
 * may arrive split over any number of reads: igzip 2.30's own header parser gets a
 * header CRC (FHCRC) wrong when the header is split. igzip then inflates the deflate
 * data and checks the trailer (ISAL_GZIP_NO_HDR_VER: CRC-32 and ISIZE), and gives the
 * bytes after the trailer back in next_in/avail_in, where the next member starts. */
#include <errno.h>
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <stdbool.h>
#include <stdlib.h>

#include "gunzip.h"

enum { PHASE_HEADER, PHASE_BODY };
enum { F_FIXED, F_XLEN, F_EXTRA, F_NAME, F_COMMENT, F_HCRC, F_DONE };

/* FLG bits (RFC 1952 2.3.1); bits 5 to 7 are reserved and must be zero. */
#define FHCRC	  0x02
#define FEXTRA	  0x04
#define FNAME	  0x08
#define FCOMMENT  0x10
#define FRESERVED 0xe0

#define FIXED_LEN 10 /* ID1 ID2 CM FLG MTIME(4) XFL OS */

int gunzip_init(struct gunzip *g, struct hull_err *err)
{
	*g = (struct gunzip){.phase = PHASE_HEADER, .field = F_FIXED};
	g->st = malloc(sizeof *g->st);
	if (g->st == NULL)
		return hull_error(err, ENOMEM, "gzip decoder");
	isal_inflate_init(g->st);
	return 0;
}

void gunzip_free(struct gunzip *g)
{
	free(g->st);
	g->st = NULL;
}

/* The next field the flags say is present, after field f. */
static int next_field(uint8_t flags, int f)
{
	static const struct {
		int field;
		uint8_t flag;
	} order[] = {{F_XLEN, FEXTRA}, {F_NAME, FNAME}, {F_COMMENT, FCOMMENT}, {F_HCRC, FHCRC}};
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		if (order[i].field > f && (flags & order[i].flag))
			return order[i].field;
	return F_DONE;
}

static void advance(struct gunzip *g)
{
	g->field = next_field(g->flags, g->field);
	g->pos = 0;
	g->val = 0;
}

static int fixed_byte(struct gunzip *g, uint8_t b, struct hull_err *err)
{
	static const uint8_t magic[2] = {0x1f, 0x8b};
	if (g->pos < 2 && b != magic[g->pos])
		return g->members > 0 ? hull_error(err, 0, "trailing garbage after the gzip data")
				      : hull_error(err, 0, "not gzip data");
	if (g->pos == 2 && b != 8)
		return hull_error(err, 0, "gzip: unknown compression method %u", b);
	if (g->pos == 3) {
		if (b & FRESERVED)
			return hull_error(err, 0, "gzip: reserved header flags set");
		g->flags = b;
	}
	if (++g->pos == FIXED_LEN)
		advance(g);
	return 0;
}

static int header_byte(struct gunzip *g, uint8_t b, struct hull_err *err)
{
	switch (g->field) {
	case F_FIXED:
		return fixed_byte(g, b, err);
	case F_XLEN:
		g->val |= (unsigned)b << (8 * g->pos);
		if (++g->pos == 2) {
			unsigned xlen = g->val;
			g->field = F_EXTRA;
			g->pos = 0;
			g->val = xlen;
			if (xlen == 0)
				advance(g);
		}
		return 0;
	case F_EXTRA:
		if (--g->val == 0)
			advance(g);
		return 0;
	case F_NAME:
	case F_COMMENT:
		if (b == 0)
			advance(g);
		return 0;
	default: /* F_HCRC: the low 16 bits of the CRC-32 of the header before it */
		g->val |= (unsigned)b << (8 * g->pos);
		if (++g->pos == 2) {
			if (g->val != (g->hcrc & 0xffff))
				return hull_error(err, 0, "gzip: header checksum mismatch");
			advance(g);
		}
		return 0;
	}
}

/* Consume header bytes; 1 once the header is whole, 0 when it needs more input. */
static int header_step(struct gunzip *g, const uint8_t **in, size_t *len, struct hull_err *err)
{
	while (*len > 0 && g->field != F_DONE) {
		uint8_t b = **in;
		if (g->field != F_HCRC)
			g->hcrc = crc32_gzip_refl(g->hcrc, &b, 1);
		if (header_byte(g, b, err) < 0)
			return -1;
		(*in)++;
		(*len)--;
	}
	if (g->field != F_DONE)
		return 0;
	isal_inflate_reset(g->st);
	g->st->crc_flag = ISAL_GZIP_NO_HDR_VER;
	g->phase = PHASE_BODY;
	return 1;
}

static int inflate_error(int r, struct hull_err *err)
{
	if (r == ISAL_INCORRECT_CHECKSUM)
		return hull_error(err, 0, "gzip: CRC or length mismatch in a member's trailer");
	return hull_error(err, 0, "gzip: corrupt deflate data (igzip error %d)", r);
}

/* One call of igzip; returns bytes written, or -1. Sets *stalled when it neither took
 * input nor wrote output. */
static ssize_t body_step(struct gunzip *g, const uint8_t **in, size_t *len, uint8_t *out,
			 size_t cap, bool *stalled, struct hull_err *err)
{
	struct inflate_state *st = g->st;
	uint32_t take = *len > UINT32_MAX ? UINT32_MAX : (uint32_t)*len;
	st->next_in = (uint8_t *)*in;
	st->avail_in = take;
	st->next_out = out;
	st->avail_out = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
	uint32_t room = st->avail_out;
	int r = isal_inflate(st);
	if (r < 0)
		return inflate_error(r, err);
	size_t used = take - st->avail_in, wrote = room - st->avail_out;
	*in += used;
	*len -= used;
	*stalled = used == 0 && wrote == 0;
	if (st->block_state == ISAL_BLOCK_FINISH) {
		g->members++;
		g->phase = PHASE_HEADER;
		g->field = F_FIXED;
		g->pos = g->val = 0;
		g->hcrc = 0;
		*stalled = false;
	}
	return (ssize_t)wrote;
}

ssize_t gunzip_step(struct gunzip *g, const uint8_t **in, size_t *len, uint8_t *out, size_t cap,
		    struct hull_err *err)
{
	size_t done = 0;
	while (done < cap) {
		if (g->phase == PHASE_HEADER) {
			int r = header_step(g, in, len, err);
			if (r <= 0)
				return r < 0 ? -1 : (ssize_t)done;
			continue;
		}
		bool stalled = false;
		ssize_t n = body_step(g, in, len, out + done, cap - done, &stalled, err);
		if (n < 0)
			return -1;
		done += (size_t)n;
		if (stalled) {
			if (*len > 0) /* input and room, and igzip took none: never expected */
				return hull_error(err, 0, "gzip: decoder made no progress");
			break;
		}
	}
	return (ssize_t)done;
}

int gunzip_end(const struct gunzip *g, struct hull_err *err)
{
	if (g->phase == PHASE_HEADER && g->field == F_FIXED && g->pos == 0 && g->members > 0)
		return 0;
	if (g->members == 0 && g->phase == PHASE_HEADER && g->field == F_FIXED && g->pos == 0)
		return hull_error(err, 0, "gzip: no data");
	return hull_error(err, 0, "gzip: data truncated (unexpected end of the blob)");
}
