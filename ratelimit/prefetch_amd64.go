package ratelimit

// prefetchSlot hints the CPU to load p's cache line (PREFETCHT0). It reads
// nothing the program can see, so it neither races nor faults.
//
//go:noescape
func prefetchSlot(p *flatSlot)
