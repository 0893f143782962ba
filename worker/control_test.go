package worker_test

import (
	"testing"

	"github.com/webhookd/webhookd/internal/workertest"
)

func TestResendTakesThePipelinesPath(t *testing.T) {
	t.Parallel()
	workertest.ResendTakesThePipelinesPath(t)
}
