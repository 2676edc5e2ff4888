package scim

import (
	"encoding/json"

	"github.com/elimity-com/scim/optional"
)

func optionalString(s string) optional.String { return optional.NewString(s) }

// jsonOrNil encodes an audit value; nil stays absent.
func jsonOrNil(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	if m, ok := v.(map[string]any); ok && m == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
