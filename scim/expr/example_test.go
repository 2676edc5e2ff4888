package expr_test

import (
	"encoding/json"
	"fmt"

	"github.com/elimity-com/scim/schema"
	"github.com/rollcall/rollcall/scim/expr"
)

func ExampleResolver_Match() {
	users := expr.Resolver{
		Core:       schema.CoreUserSchema(),
		Extensions: []schema.Schema{schema.ExtensionEnterpriseUser()},
	}
	var doc map[string]any
	_ = json.Unmarshal([]byte(`{
		"userName": "bjensen",
		"active": "True",
		"emails": [{"value": "bjensen@example.com", "type": "work"}]
	}`), &doc)

	for _, s := range []string{
		`userName eq "BJENSEN"`,
		`emails[type eq "work"].value eq "bjensen@example.com"`,
		`active eq true and title ne "Manager"`,
		`nickName pr`,
	} {
		e, err := expr.ParseFilter(s)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(users.Match(e, doc), s)
	}
	_, err := expr.ParseFilter(`userName`)
	fmt.Println(err)
	// Output:
	// true userName eq "BJENSEN"
	// true emails[type eq "work"].value eq "bjensen@example.com"
	// true active eq true and title ne "Manager"
	// false nickName pr
	// invalid filter at offset 8: expected a comparison operator after "userName"
}

func ExampleResolver_Normalize() {
	users := expr.Resolver{Core: schema.CoreUserSchema()}
	e, _ := expr.ParseFilter(`emails[type eq "work"].value co "@example.com" AND active EQ "True"`)
	n, err := users.Normalize(e)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(expr.Format(n))
	// Output:
	// emails[type eq "work" and value co "@example.com"] and active eq true
}
