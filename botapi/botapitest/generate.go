package botapitest

//go:generate go run gen_methods.go
