// Command broadcastapp is the program the broadcast crash test kills: it
// sends one message to every chat listed in a file through a botapi client
// on a ratelimit scheduler, recording every send in the SQLite file's
// broadcast.Log, and resumes from the log when restarted. It prints
// "DONE <delivered> <unknown>" when the broadcast is over.
//
// Usage: broadcastapp -db file -chats file -api http://host:port -token T [-scale 10]
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	"github.com/miniappkit/miniappkit/botapi"
	"github.com/miniappkit/miniappkit/broadcast"
	"github.com/miniappkit/miniappkit/ratelimit"
	"github.com/miniappkit/miniappkit/store/sqlite"
)

func main() {
	dbPath := flag.String("db", "", "the SQLite file")
	chatsPath := flag.String("chats", "", "the chat list, one id a line")
	api := flag.String("api", "", "the Bot API base URL")
	token := flag.String("token", "", "the bot token")
	scale := flag.Int("scale", 1, "every limit this many times faster (a fake Telegram with WithRateLimits(scale))")
	flag.Parse()
	if err := run(*dbPath, *chatsPath, *api, *token, *scale); err != nil {
		log.Fatal(err)
	}
}

func run(dbPath, chatsPath, api, token string, scale int) error {
	ctx := context.Background()
	db, err := sqlite.Open(dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	chats, err := readChats(chatsPath)
	if err != nil {
		return err
	}
	w := time.Second / time.Duration(scale)
	sched, err := ratelimit.NewTelegram(
		ratelimit.WithChatLimit(ratelimit.Limit{N: 1, Window: w}),
		ratelimit.WithGroupLimit(ratelimit.Limit{N: 20, Window: 60 * w}),
		ratelimit.WithGlobalLimit(ratelimit.Limit{N: 30, Window: w}),
		ratelimit.WithPaidLimit(ratelimit.Limit{N: 1000, Window: w}),
		ratelimit.WithMargin(20*w/1000, 100*w/1000))
	if err != nil {
		return err
	}
	client := botapi.New(token, botapi.WithBaseURL(api), botapi.WithLimiter(sched))
	sum, err := broadcast.Run(ctx, sched, chats,
		broadcast.Message(client, botapi.SendMessageParams{Text: "news"}),
		broadcast.WithLog(db.BroadcastLog(), "news"))
	if err != nil {
		return err
	}
	fmt.Printf("DONE %d %d\n", sum.Delivered, sum.Unknown)
	return nil
}

func readChats(path string) ([]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ids []int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, err := strconv.ParseInt(sc.Text(), 10, 64)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, sc.Err()
}
