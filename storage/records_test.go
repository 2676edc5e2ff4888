package storage

import "testing"

func TestSameValues(t *testing.T) {
	yes, no := true, false
	work := Value{Attr: "emails", Value: "a@example.com", Type: "work", Primary: &yes}
	home := Value{Attr: "emails", Value: "b@example.com", Type: "home"}
	phone := Value{Attr: "phoneNumbers", Value: "+1 555 0100"}
	primaryCopy := work
	t2 := true
	primaryCopy.Primary = &t2
	notPrimary := work
	notPrimary.Primary = &no
	unsaid := work
	unsaid.Primary = nil
	for _, c := range []struct {
		name string
		a, b []Value
		want bool
	}{
		{"both empty", nil, []Value{}, true},
		{"same, Primary at another address", []Value{work, home}, []Value{primaryCopy, home}, true},
		{"attributes in another order", []Value{phone, work, home}, []Value{work, home, phone}, true},
		{"elements of one attribute reordered", []Value{work, home}, []Value{home, work}, false},
		{"primary false is not unsaid", []Value{notPrimary}, []Value{unsaid}, false},
		{"primary true is not false", []Value{work}, []Value{notPrimary}, false},
		{"one more", []Value{work}, []Value{work, home}, false},
		{"another value", []Value{work}, []Value{home}, false},
	} {
		if got := SameValues(c.a, c.b); got != c.want {
			t.Errorf("%s: SameValues = %v, want %v", c.name, got, c.want)
		}
	}
}
