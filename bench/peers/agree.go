package peers

import (
	"context"
	"fmt"
)

// Answer fills in each question's Want with rolegate's decision.
func Answer(ctx context.Context, ref Engine, qs []Question) error {
	for i := range qs {
		ok, err := ref.Decide(ctx, qs[i])
		if err != nil {
			return fmt.Errorf("%s: question %d (%s): %w", ref.Name(), i+1, qs[i], err)
		}
		qs[i].Want = ok
	}
	return nil
}

// Disagreement is an engine answering a question otherwise than rolegate.
type Disagreement struct {
	Engine   string
	Index    int // 1-based, the line of the question file
	Question Question
	Got      bool
}

func (d *Disagreement) Error() string {
	return fmt.Sprintf("%s disagrees with rolegate on question %d (%s): got allowed=%v, want %v",
		d.Engine, d.Index, d.Question, d.Got, d.Question.Want)
}

// Agree asks e every question and returns the first answer that differs
// from Want (a *Disagreement) or the first error.
func Agree(ctx context.Context, e Engine, qs []Question) error {
	for i, q := range qs {
		got, err := e.Decide(ctx, q)
		if err != nil {
			return fmt.Errorf("%s: question %d (%s): %w", e.Name(), i+1, q, err)
		}
		if got != q.Want {
			return &Disagreement{Engine: e.Name(), Index: i + 1, Question: q, Got: got}
		}
	}
	return nil
}
