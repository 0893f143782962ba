package config

import (
	"encoding/base64"
	"math"
	"strings"
)

func nan() float64 { return math.NaN() }
func inf() float64 { return math.Inf(1) }

func b64(n int) string { return base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", n))) }
