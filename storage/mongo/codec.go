package mongo

import (
	"fmt"
	"reflect"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/webhookd/webhookd/config"
)

// registry is the BSON registry of the store's client: the driver's defaults, and
// config.Duration stored as its section 4 string ("10s", "72h") so that the documents stay
// readable. The mapping lives here, not in config, so that config knows nothing of BSON.
func registry() *bson.Registry {
	r := bson.NewRegistry()
	t := reflect.TypeFor[config.Duration]()
	r.RegisterTypeEncoder(t, bson.ValueEncoderFunc(encodeDuration))
	r.RegisterTypeDecoder(t, bson.ValueDecoderFunc(decodeDuration))
	return r
}

func encodeDuration(_ bson.EncodeContext, vw bson.ValueWriter, v reflect.Value) error {
	d, ok := v.Interface().(config.Duration)
	if !ok {
		return bson.ValueEncoderError{Name: "encodeDuration", Types: []reflect.Type{reflect.TypeFor[config.Duration]()}, Received: v}
	}
	return vw.WriteString(d.Text())
}

func decodeDuration(_ bson.DecodeContext, vr bson.ValueReader, v reflect.Value) error {
	if vr.Type() != bson.TypeString {
		return fmt.Errorf("decode duration: stored as BSON %s, want a string", vr.Type())
	}
	s, err := vr.ReadString()
	if err != nil {
		return fmt.Errorf("decode duration: %w", err)
	}
	d, err := config.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("decode duration: %w", err)
	}
	v.Set(reflect.ValueOf(d))
	return nil
}
