/* Private to src/images: gzip (RFC 1952) decoding with ISA-L's igzip, fed in pieces of
 * any size. Every member of a multi-member file is decoded in turn; anything after the
 * last member that is not another member is an error. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

struct inflate_state;

struct gunzip {
	struct inflate_state *st;
	int phase;	  /* in a header, or in a member's deflate data and trailer */
	int field;	  /* the header field being read */
	unsigned pos;	  /* bytes read of that field */
	unsigned val;	  /* little-endian number being read (XLEN, HCRC) */
	uint8_t flags;	  /* the header's FLG byte */
	uint32_t hcrc;	  /* CRC-32 of the header so far, for FHCRC */
	uint64_t members; /* members decoded whole */
};

int gunzip_init(struct gunzip *g, struct hull_err *err);
void gunzip_free(struct gunzip *g);

/* Decode from *in (*in and *len advance past what was used) into out; returns the
 * bytes written (cap when out is full), or -1 with err on corrupt data. With *len == 0
 * it still writes what the decoder holds; a return of 0 then means it needs input. */
ssize_t gunzip_step(struct gunzip *g, const uint8_t **in, size_t *len, uint8_t *out, size_t cap,
		    struct hull_err *err);

/* The input has ended (and gunzip_step returned 0 with nothing left): -1 with err unless
 * the last member was whole. */
int gunzip_end(const struct gunzip *g, struct hull_err *err);
