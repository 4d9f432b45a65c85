//go:build amd64 && !purego

#include "textflag.h"

// The AVX2 percent-decoder of decode_amd64.go. It decodes 32 bytes of a
// value per block with no dependency between blocks but a two-bit carry.
// For the block at s[i:i+32] it loads v0 = s[i:], v1 = s[i+1:] and
// v2 = s[i+2:], classifies the bytes of v0 ('%', '+', bad), decodes the
// hex digits of v1 (high nibble) and v2 (low nibble) in every lane, and
// selects per lane: the decoded byte at '%', a space at '+', else v0. The
// two lanes after each '%' are dropped (as are the lanes the carry of the
// block before drops), and the kept lanes are packed eight at a time with
// VPSHUFB and a table of shuffles indexed by the eight keep bits. Errors
// are gathered in one vector and tested once at the end.

// func cpuHasAVX2() bool
TEXT ·cpuHasAVX2(SB), NOSPLIT, $0-1
	MOVL $0, AX
	CPUID
	CMPL AX, $7
	JLT  no
	MOVL $1, AX
	MOVL $0, CX
	CPUID
	// POPCNT (bit 23), OSXSAVE (bit 27) and AVX (bit 28).
	ANDL $0x18800000, CX
	CMPL CX, $0x18800000
	JNE  no
	// The OS saves the XMM and YMM registers (XCR0 bits 1 and 2).
	MOVL   $0, CX
	XGETBV
	ANDL   $6, AX
	CMPL   AX, $6
	JNE    no
	MOVL   $7, AX
	MOVL   $0, CX
	CPUID
	// AVX2 (leaf 7, EBX bit 5).
	ANDL $0x20, BX
	JZ   no
	MOVB $1, ret+0(FP)
	RET

no:
	MOVB $0, ret+0(FP)
	RET

// func decodeAVX2(dst, src *byte, n int, tab *[512]uint64) (next, written, flags int)
//
// Requires n >= 34 and dst with room for n+32 bytes. Decodes src[:next]
// to dst[:written]; next is n-2 plus the lanes a last escape drops, so
// at most two bytes are left for the caller's scalar loop.
//
// Registers: SI src, DI dst, BX i, DX j, R8 carry (dropped lanes of the
// next block), R9 '%' and '+' seen, R10 tab, R12 lanes to skip (the last,
// overlapping block), R13 n-34 (the last whole block's start); AX, CX,
// R11 and R14 are scratch (R14 is free in ABI0 code).
// Y15 nibble mask, Y14/Y13 class tables, Y12/Y11/Y10 hex tables, Y9 bad
// class bits, Y8 errors seen.
TEXT ·decodeAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), R13
	MOVQ tab+24(FP), R10
	SUBQ $34, R13
	XORQ BX, BX
	XORQ DX, DX
	XORQ R8, R8
	XORQ R9, R9
	XORQ R12, R12
	VMOVDQU nibble<>(SB), Y15
	VMOVDQU classHi<>(SB), Y14
	VMOVDQU classLo<>(SB), Y13
	VMOVDQU hexAdd<>(SB), Y12
	VMOVDQU hexHi<>(SB), Y11
	VMOVDQU hexLo<>(SB), Y10
	VMOVDQU badClass<>(SB), Y9
	VPXOR   Y8, Y8, Y8

loop:
	CMPQ BX, R13
	JGT  last

block:
	VMOVDQU (SI)(BX*1), Y0
	VMOVDQU 1(SI)(BX*1), Y1
	VMOVDQU 2(SI)(BX*1), Y2

	// Y3: the class of each byte of v0.
	VPSRLW  $4, Y0, Y3
	VPAND   Y15, Y3, Y3
	VPAND   Y15, Y0, Y4
	VPSHUFB Y3, Y14, Y3
	VPSHUFB Y4, Y13, Y4
	VPAND   Y4, Y3, Y3

	// Y1: the value of v1 as a hex digit; Y5 nonzero where it is one.
	VPSRLW  $4, Y1, Y4
	VPAND   Y15, Y4, Y4
	VPAND   Y15, Y1, Y1
	VPSHUFB Y4, Y11, Y5
	VPSHUFB Y1, Y10, Y6
	VPAND   Y6, Y5, Y5
	VPSHUFB Y4, Y12, Y4
	VPADDB  Y4, Y1, Y1

	// Y2: the same for v2; Y5 zero where either is not a hex digit.
	VPSRLW  $4, Y2, Y4
	VPAND   Y15, Y4, Y4
	VPAND   Y15, Y2, Y2
	VPSHUFB Y4, Y11, Y6
	VPSHUFB Y2, Y10, Y7
	VPAND   Y7, Y6, Y6
	VPMINUB Y6, Y5, Y5
	VPSHUFB Y4, Y12, Y4
	VPADDB  Y4, Y2, Y2

	// Y1: the decoded escape (the nibble mask keeps the shift of a
	// non-digit's value out of the next lane).
	VPAND Y15, Y1, Y1
	VPSLLW $4, Y1, Y1
	VPOR  Y2, Y1, Y1

	// Errors: bad bytes anywhere, and '%' lanes whose digits are not hex
	// or decode to a line feed.
	VPCMPEQB zeros<>(SB), Y5, Y5
	VPCMPEQB lineFeed<>(SB), Y1, Y6
	VPOR     Y6, Y5, Y5
	VPOR     Y9, Y5, Y5
	VPAND    Y3, Y5, Y5
	VPOR     Y5, Y8, Y8

	// Select: a space at '+' (class bit 0x40 moved to bit 7), the
	// decoded byte at '%' (class bit 0x80), else v0.
	VPSLLW    $1, Y3, Y4
	VPBLENDVB Y4, spaces<>(SB), Y0, Y0
	VPBLENDVB Y3, Y1, Y0, Y0

	// Keep bits: not the two lanes after a '%', not the carry, not the
	// skipped lanes.
	VPMOVMSKB Y3, AX
	VPMOVMSKB Y4, CX
	ORL       AX, R9
	ORL       CX, R9
	LEAQ      (AX)(AX*1), CX
	SHLQ      $2, AX
	ORQ       CX, AX
	ORQ       R8, AX
	ORQ       R12, AX
	MOVQ      AX, R8
	SHRQ      $32, R8
	NOTL      AX
	CMPL      AX, $0xffffffff
	JEQ       whole

	// Pack the kept lanes of each group of eight: shuffles from the table
	// (the upper group of each 16-byte lane from its second half), then
	// store each group's eight bytes where the group before ended (the
	// tail of a store is garbage, overwritten by the next or beyond j).
	MOVBLZX      AX, CX
	MOVL         AX, R11
	SHRL         $8, R11
	MOVBLZX      R11, R11
	MOVL         AX, R14
	SHRL         $16, R14
	MOVBLZX      R14, R14
	SHRL         $24, AX
	VMOVQ        (R10)(CX*8), X4
	VPINSRQ      $1, 2048(R10)(R11*8), X4, X4
	VMOVQ        (R10)(R14*8), X5
	VPINSRQ      $1, 2048(R10)(AX*8), X5, X5
	VINSERTI128  $1, X5, Y4, Y4
	VPSHUFB      Y4, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	POPCNTL      CX, CX
	POPCNTL      R11, R11
	POPCNTL      R14, R14
	POPCNTL      AX, AX
	VMOVQ        X0, (DI)(DX*1)
	ADDQ         CX, DX
	VPEXTRQ      $1, X0, (DI)(DX*1)
	ADDQ         R11, DX
	VMOVQ        X1, (DI)(DX*1)
	ADDQ         R14, DX
	VPEXTRQ      $1, X1, (DI)(DX*1)
	ADDQ         AX, DX
	JMP          next

whole:
	VMOVDQU Y0, (DI)(DX*1)
	ADDQ    $32, DX

next:
	ADDQ  $32, BX
	TESTQ R12, R12
	JZ    loop
	JMP   done

last:
	// Fewer than 32 lanes are left before n-2: decode the block that ends
	// there, skipping the lanes decoded already.
	LEAQ 32(R13), CX
	CMPQ BX, CX
	JGE  done
	MOVQ BX, CX
	SUBQ R13, CX
	SHLQ CX, R8
	MOVQ $1, R12
	SHLQ CX, R12
	DECQ R12
	MOVQ R13, BX
	JMP  block

done:
	XORQ   AX, AX
	VPTEST badTest<>(SB), Y8
	SETNE  AL
	XORQ   CX, CX
	TESTQ  R9, R9
	SETNE  CL
	SHLQ   $1, CX
	ORQ    CX, AX
	POPCNTQ R8, R8
	ADDQ   R8, BX
	VZEROUPPER
	MOVQ   BX, next+32(FP)
	MOVQ   DX, written+40(FP)
	MOVQ   AX, flags+48(FP)
	RET

// 0x0f in every byte: the low nibble.
DATA nibble<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibble<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibble<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nibble<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nibble<>(SB), RODATA|NOPTR, $32
// func decodeHexAVX2(dst *[32]byte, src *byte) bool
TEXT ·decodeHexAVX2(SB), NOSPLIT, $0-17
	MOVQ    dst+0(FP), DI
	MOVQ    src+8(FP), SI
	VMOVDQU nibble<>(SB), Y15
	VMOVDQU hexAdd<>(SB), Y12
	VMOVDQU hexHi<>(SB), Y11
	VMOVDQU hexLo<>(SB), Y10
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1

	// Y0, Y1: the digits' values; Y4, Y5 zero where a byte is not one.
	VPSRLW  $4, Y0, Y2
	VPAND   Y15, Y2, Y2
	VPAND   Y15, Y0, Y0
	VPSHUFB Y2, Y11, Y4
	VPSHUFB Y0, Y10, Y6
	VPAND   Y6, Y4, Y4
	VPSHUFB Y2, Y12, Y2
	VPADDB  Y2, Y0, Y0
	VPSRLW  $4, Y1, Y3
	VPAND   Y15, Y3, Y3
	VPAND   Y15, Y1, Y1
	VPSHUFB Y3, Y11, Y5
	VPSHUFB Y1, Y10, Y6
	VPAND   Y6, Y5, Y5
	VPSHUFB Y3, Y12, Y3
	VPADDB  Y3, Y1, Y1

	// Pairs of digits to bytes: hi*16+lo in words, packed to bytes (the
	// pack interleaves the 16-byte lanes; VPERMQ puts them in order).
	VPMADDUBSW hexPairs<>(SB), Y0, Y0
	VPMADDUBSW hexPairs<>(SB), Y1, Y1
	VPACKUSWB  Y1, Y0, Y0
	VPERMQ     $0xd8, Y0, Y0
	VMOVDQU    Y0, (DI)

	VPMINUB  Y5, Y4, Y4
	VPCMPEQB zeros<>(SB), Y4, Y4
	VPTEST   Y4, Y4
	SETEQ    AL
	VZEROUPPER
	MOVB     AL, ret+16(FP)
	RET

// hexPairs weighs the first digit of each pair by 16, the second by 1.
DATA hexPairs<>+0(SB)/8, $0x0110011001100110
DATA hexPairs<>+8(SB)/8, $0x0110011001100110
DATA hexPairs<>+16(SB)/8, $0x0110011001100110
DATA hexPairs<>+24(SB)/8, $0x0110011001100110
GLOBL hexPairs<>(SB), RODATA|NOPTR, $32

// classHi[c>>4] & classLo[c&15] classifies byte c: 0x80 '%', 0x40 '+',
// 0x01 control byte, 0x02 '"', 0x04 ';' or '='; 0 for every other byte.
DATA classHi<>+0(SB)/8, $0x0000000004c20101
DATA classHi<>+8(SB)/8, $0x0000000000000000
DATA classHi<>+16(SB)/8, $0x0000000004c20101
DATA classHi<>+24(SB)/8, $0x0000000000000000
GLOBL classHi<>(SB), RODATA|NOPTR, $32
// See classHi.
DATA classLo<>+0(SB)/8, $0x0101810101030101
DATA classLo<>+8(SB)/8, $0x0101050145010101
DATA classLo<>+16(SB)/8, $0x0101810101030101
DATA classLo<>+24(SB)/8, $0x0101050145010101
GLOBL classLo<>(SB), RODATA|NOPTR, $32
// hexAdd[c>>4] + c&15 is the value of hex digit c (9 for letters).
DATA hexAdd<>+0(SB)/8, $0x0009000900000000
DATA hexAdd<>+8(SB)/8, $0x0000000000000000
DATA hexAdd<>+16(SB)/8, $0x0009000900000000
DATA hexAdd<>+24(SB)/8, $0x0000000000000000
GLOBL hexAdd<>(SB), RODATA|NOPTR, $32
// hexHi[c>>4] & hexLo[c&15] is nonzero exactly for the hex digits:
// 0x01 for '0'-'9', 0x02 for 'A'-'F' and 'a'-'f'.
DATA hexHi<>+0(SB)/8, $0x0002000201000000
DATA hexHi<>+8(SB)/8, $0x0000000000000000
DATA hexHi<>+16(SB)/8, $0x0002000201000000
DATA hexHi<>+24(SB)/8, $0x0000000000000000
GLOBL hexHi<>(SB), RODATA|NOPTR, $32
// See hexHi.
DATA hexLo<>+0(SB)/8, $0x0103030303030301
DATA hexLo<>+8(SB)/8, $0x0000000000000101
DATA hexLo<>+16(SB)/8, $0x0103030303030301
DATA hexLo<>+24(SB)/8, $0x0000000000000101
GLOBL hexLo<>(SB), RODATA|NOPTR, $32
// The class bits of the bytes that are never in a raw value.
DATA badClass<>+0(SB)/8, $0x0707070707070707
DATA badClass<>+8(SB)/8, $0x0707070707070707
DATA badClass<>+16(SB)/8, $0x0707070707070707
DATA badClass<>+24(SB)/8, $0x0707070707070707
GLOBL badClass<>(SB), RODATA|NOPTR, $32
// The class bits that make a block bad: those of badClass and '%' (an
// escape that is not two hex digits or decodes to a line feed).
DATA badTest<>+0(SB)/8, $0x8787878787878787
DATA badTest<>+8(SB)/8, $0x8787878787878787
DATA badTest<>+16(SB)/8, $0x8787878787878787
DATA badTest<>+24(SB)/8, $0x8787878787878787
GLOBL badTest<>(SB), RODATA|NOPTR, $32
// A line feed in every byte.
DATA lineFeed<>+0(SB)/8, $0x0a0a0a0a0a0a0a0a
DATA lineFeed<>+8(SB)/8, $0x0a0a0a0a0a0a0a0a
DATA lineFeed<>+16(SB)/8, $0x0a0a0a0a0a0a0a0a
DATA lineFeed<>+24(SB)/8, $0x0a0a0a0a0a0a0a0a
GLOBL lineFeed<>(SB), RODATA|NOPTR, $32
// A space in every byte: what '+' decodes to.
DATA spaces<>+0(SB)/8, $0x2020202020202020
DATA spaces<>+8(SB)/8, $0x2020202020202020
DATA spaces<>+16(SB)/8, $0x2020202020202020
DATA spaces<>+24(SB)/8, $0x2020202020202020
GLOBL spaces<>(SB), RODATA|NOPTR, $32
// Zero in every byte.
DATA zeros<>+0(SB)/8, $0x0000000000000000
DATA zeros<>+8(SB)/8, $0x0000000000000000
DATA zeros<>+16(SB)/8, $0x0000000000000000
DATA zeros<>+24(SB)/8, $0x0000000000000000
GLOBL zeros<>(SB), RODATA|NOPTR, $32

// func classifyAVX2(m *masks, src *byte, n int)
//
// Sets the first n bits of the two masks of m from src[:n], n at least
// 32: amp where a byte is '&', stop where it may
// not be in a key. Each block of 32 bytes is classified by two nibble
// lookups (see classSplitHi) and its two 32-bit masks are stored; the
// bytes after the last whole block, if any, by the block that ends at n,
// its masks shifted past the lanes done already (their 32-bit slot then
// holds zeros past n).
TEXT ·classifyAVX2(SB), NOSPLIT, $0-24
	MOVQ m+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ BX, BX
	VMOVDQU nibble<>(SB), Y15
	VMOVDQU classSplitHi<>(SB), Y14
	VMOVDQU classSplitLo<>(SB), Y13
	VMOVDQU amps<>(SB), Y11
	VPXOR   Y10, Y10, Y10

classify:
	LEAQ 32(BX), R8
	CMPQ R8, CX
	JGT  tail
	VMOVDQU (SI)(BX*1), Y0
	VPSRLW  $4, Y0, Y1
	VPAND   Y15, Y1, Y1
	VPAND   Y15, Y0, Y2
	VPSHUFB Y1, Y14, Y1
	VPSHUFB Y2, Y13, Y2
	VPAND   Y2, Y1, Y1

	// amp: '&'; stop: a class bit set.
	VPCMPEQB  Y11, Y0, Y3
	VPMOVMSKB Y3, AX
	MOVL      AX, (DI)
	VPCMPEQB  Y10, Y1, Y3
	VPMOVMSKB Y3, AX
	NOTL      AX
	MOVL      AX, 1024(DI)

	MOVQ R8, BX
	ADDQ $4, DI
	JMP  classify

tail:
	// n-BX bytes (fewer than 32) are left: classify the block that ends
	// at n and shift out the 32-(n-BX) lanes done already.
	MOVQ CX, R8
	SUBQ BX, R8
	JZ   classified
	VMOVDQU -32(SI)(CX*1), Y0
	VPSRLW  $4, Y0, Y1
	VPAND   Y15, Y1, Y1
	VPAND   Y15, Y0, Y2
	VPSHUFB Y1, Y14, Y1
	VPSHUFB Y2, Y13, Y2
	VPAND   Y2, Y1, Y1
	VPCMPEQB  Y11, Y0, Y3
	VPMOVMSKB Y3, AX
	VPCMPEQB  Y10, Y1, Y3
	VPMOVMSKB Y3, R11
	NOTL      R11
	MOVQ      $32, CX
	SUBQ      R8, CX
	SHRL      CX, AX
	SHRL      CX, R11
	MOVL      AX, (DI)
	MOVL      R11, 1024(DI)

classified:
	VZEROUPPER
	RET

// classSplitHi[c>>4] & classSplitLo[c&15] is nonzero exactly for the bytes
// that may not be in a key (keyBytes false), with bits 0x01 for '"', '%'
// and '+', 0x02 for ' ' and '&', 0x04 for ';' and '=', 0x08 for '[',
// '\\' and ']', 0x10 for '{', '}' and DEL, 0x20 for control bytes, 0x40
// for the bytes from 0x80.
DATA classSplitHi<>+0(SB)/8, $0x1000080004032020
DATA classSplitHi<>+8(SB)/8, $0x4040404040404040
DATA classSplitHi<>+16(SB)/8, $0x1000080004032020
DATA classSplitHi<>+24(SB)/8, $0x4040404040404040
GLOBL classSplitHi<>(SB), RODATA|NOPTR, $32
// See classSplitHi.
DATA classSplitLo<>+0(SB)/8, $0x6062616060616062
DATA classSplitLo<>+8(SB)/8, $0x70607C687D606060
DATA classSplitLo<>+16(SB)/8, $0x6062616060616062
DATA classSplitLo<>+24(SB)/8, $0x70607C687D606060
GLOBL classSplitLo<>(SB), RODATA|NOPTR, $32
// '&' in every byte.
DATA amps<>+0(SB)/8, $0x2626262626262626
DATA amps<>+8(SB)/8, $0x2626262626262626
DATA amps<>+16(SB)/8, $0x2626262626262626
DATA amps<>+24(SB)/8, $0x2626262626262626
GLOBL amps<>(SB), RODATA|NOPTR, $32
