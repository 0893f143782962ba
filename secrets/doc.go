// Package secrets keeps what the stores must not hold in clear (CONTRACT.md section 4, "Secrets
// at rest"): webhook definitions' secret keys and the values of their credential headers. They
// are sealed with AES-256-GCM under the first key of a key file (--secrets-key-file), and every
// key the file lists can open them, so an operator rotates keys by putting a new one first and
// keeping the old ones listed until webhookd has re-encrypted what it stored.
//
// A key file has one key a line, "<key id> <standard base64 of 32 random bytes>"; "#" starts a
// comment, blank lines are ignored:
//
//	# webhookd secrets key file: the first key encrypts, every key decrypts.
//	k20250314-3fa2 8Jx0M1q6Xk3mS0b0Q2lC6oZ7c2d9x9c2mV1yYk4nP0E=
//
// A sealed value reads "enc:v1:<key id>:<base64 of nonce and ciphertext>". The caller gives
// additional authenticated data that names where the value belongs (a definition's id and the
// field), so a sealed value copied into another definition, or another field, does not open.
//
// Errors name the file, the line and the key id, never key material nor a secret.
package secrets
