package journal

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkSubmitJournalCost is what the journal adds to one submission:
// the Claim before it is sent (the duplicate guard and, with a budget, the
// day's total, in one transaction) and the Accepted after, on a file journal
// as a server uses it. The journal already holds a busy day of jobs (200),
// each iteration adding one more. The target is at most 2 ms.
func BenchmarkSubmitJournalCost(b *testing.B) {
	for _, budget := range []float64{0, 1e6} {
		b.Run(fmt.Sprintf("budget=%t", budget > 0), func(b *testing.B) {
			ctx := context.Background()
			j, err := Open(ctx, Options{Dir: b.TempDir()})
			require.NoError(b, err)
			b.Cleanup(func() { _ = j.Close() })
			r := Rules{Window: 15 * time.Minute, UncertainFor: 24 * time.Hour, InFlight: 2 * time.Minute, DailyBudget: budget}
			submit := func(n int) {
				job, owner, err := j.Claim(ctx, Intent{Key: fmt.Sprintf("request-%d", n), Tool: "video_edit", Model: "wan2.1-vace-plus",
					PromptExcerpt: "a violinist on a wider stage", EstimateUSD: 0.5}, r)
				if err != nil || !owner {
					b.Fatal(err, owner)
				}
				if err := j.Accepted(ctx, job.ID, fmt.Sprintf("task-%d", n), "PENDING"); err != nil {
					b.Fatal(err)
				}
			}
			for n := range 200 {
				submit(-n - 1)
			}
			n := 0
			for b.Loop() {
				submit(n)
				n++
			}
		})
	}
}
