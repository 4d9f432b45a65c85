package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/miniappkit/miniappkit/broadcast"
)

// bar draws the progress of a broadcast: on a terminal one line redrawn in
// place at most every redrawEvery, elsewhere (a log, a pipe) one line per
// tenth of the list.
type bar struct {
	out      io.Writer
	tty      bool
	width    int
	last     time.Duration // Elapsed of the last redraw
	lastStep int           // tenths printed, when not a tty
	// printedLast: the complete line was printed (not a tty).
	printedLast bool
}

const redrawEvery = 100 * time.Millisecond

// update draws p if it is time to; final forces a draw.
func (b *bar) update(p broadcast.Progress, final bool) {
	if b.tty {
		if !final && p.Elapsed-b.last < redrawEvery && p.Done != p.Total {
			return
		}
		b.last = p.Elapsed
		fmt.Fprintf(b.out, "\r%s", b.line(p))
		if final {
			fmt.Fprintln(b.out)
		}
		return
	}
	step := 10
	if p.Total > 0 {
		step = p.Done * 10 / p.Total
	}
	if step > b.lastStep || (final && !b.printedLast) {
		b.lastStep = step
		b.printedLast = p.Done == p.Total
		fmt.Fprintln(b.out, b.line(p))
	}
}

// line renders p: the bar, done/total, rate, sent, failed and ETA.
func (b *bar) line(p broadcast.Progress) string {
	width := b.width
	if width <= 0 {
		width = 24
	}
	frac := 1.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	filled := int(frac * float64(width))
	sent := p.Delivered + p.Migrated
	failed := p.Permanent + p.Unknown
	finished := sent + failed // in this run
	rate := 0.0
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = float64(finished) / s
	}
	eta := "--"
	if left := p.Total - p.Done; left == 0 {
		eta = "0s"
	} else if rate > 0 {
		eta = (time.Duration(float64(left) / rate * float64(time.Second))).Round(time.Second).String()
	}
	return fmt.Sprintf("[%s%s] %d/%d %3.0f%% · %.1f msg/s · sent %d · failed %d · ETA %s",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		p.Done, p.Total, frac*100, rate, sent, failed, eta)
}
