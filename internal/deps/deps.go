// Package deps pins the module's dependencies while the packages that use them are written.
// Delete it once every import below is used by real code.
package deps

import (
	_ "github.com/FerretDB/FerretDB/ferretdb"
	_ "github.com/alecthomas/kong"
	_ "github.com/cenkalti/backoff/v4"
	_ "github.com/google/cel-go/cel"
	_ "github.com/nats-io/nats-server/v2/server"
	_ "github.com/nats-io/nats.go/jetstream"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "go.mongodb.org/mongo-driver/v2/mongo"
	_ "go.uber.org/goleak"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/time/rate"
	_ "modernc.org/sqlite"
)
