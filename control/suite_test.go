package control_test

// The control plane's black-box tests are a suite, internal/controltest, so that they run on
// each store: on SQLite here, on MongoDB in internal/mongotest/control (a module of its own, for
// the FerretDB it runs on). The contract checks of control_contract_test.go stay here.

import (
	"testing"

	"github.com/webhookd/webhookd/internal/controltest"
)

func TestOnSQLite(t *testing.T) { controltest.Run(t, controltest.SQLite) }
