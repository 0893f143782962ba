package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/webhookd/webhookd/secrets"
)

// StandaloneKeyFile is the key file standalone mode creates in the data directory when
// --secrets-key-file is not given.
const StandaloneKeyFile = "secrets.key"

// errNoKeyFile: MongoDB is shared by replicas, which must share one key file, so none is made up.
var errNoKeyFile = errors.New("--secrets-key-file is required with --mongo-uri: the store keeps webhook definitions' secrets encrypted under its keys. " +
	"Make one with `webhookctl secret keygen --out secrets.key` (mode 0600), keep a copy, and give every replica the same file")

// keyFile is the key file in use, said once webhookd has started (a start that fails says
// only why).
type keyFile struct {
	path    string
	keys    *secrets.Keyring
	created bool
}

// loadKeyFile reads --secrets-key-file.
func loadKeyFile(path string) (*keyFile, error) {
	keys, err := secrets.LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--secrets-key-file: %w", err)
	}
	return &keyFile{path: path, keys: keys}, nil
}

// loadOrCreateKeyFile reads standalone's key file, creating it with a new key at the first start.
func loadOrCreateKeyFile(path string) (*keyFile, error) {
	keys, created, err := secrets.LoadOrCreate(path)
	if err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	return &keyFile{path: path, keys: keys, created: created}, nil
}

func (k *keyFile) log(log *slog.Logger) {
	if k.created {
		log.Info("created secrets key file "+k.path+": keep a copy of it, the store's secrets cannot be read without it",
			"key_file", k.path, "key_id", k.keys.Primary())
	}
	if mode, loose := secrets.LooseMode(k.path); loose {
		log.Warn(fmt.Sprintf("secrets key file %s has mode %v: other users may read it; chmod 600 it", k.path, mode),
			"key_file", k.path)
	}
	log.Info("secrets at rest are encrypted under key "+k.keys.Primary(),
		"key_file", k.path, "key_id", k.keys.Primary(), "keys", len(k.keys.IDs()))
}

// reencryptSecrets has the store seal again, under the first key, what it holds under an older
// key or in clear, says so once when it did, and sets webhookd_secrets_stale to what is left:
// 0 once a key rotation (or the upgrade of a store from before encryption) is done.
func (w *Worker) reencryptSecrets(ctx context.Context) {
	res, err := w.store.ReencryptSecrets(ctx)
	w.metrics.SecretsStale.Set(float64(res.Stale))
	if res.Reencrypted > 0 {
		w.log.Info(fmt.Sprintf("secrets re-encrypted under key %s: %d definitions", res.KeyID, res.Reencrypted),
			"key_id", res.KeyID, "definitions", res.Reencrypted, "stale", res.Stale)
	}
	if err != nil && ctx.Err() == nil {
		w.log.Warn("re-encrypt secrets", "key_id", res.KeyID, "stale", res.Stale, "error", err)
	}
}
