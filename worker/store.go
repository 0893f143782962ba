package worker

import (
	"github.com/webhookd/webhookd/console"
	"github.com/webhookd/webhookd/control"
	"github.com/webhookd/webhookd/pipeline"
	"github.com/webhookd/webhookd/storage/mongo"
	"github.com/webhookd/webhookd/storage/sqlite"
)

// openedStore is a store as the worker opens it: the pipeline's Store and what the control
// plane and the web console need of it. Both stores satisfy it at compile time, so a missing
// method is a build error, never a failed start.
type openedStore interface {
	pipeline.Store
	control.Store
	console.Store
}

var (
	_ openedStore = (*sqlite.Store)(nil)
	_ openedStore = (*mongo.Store)(nil)
)
