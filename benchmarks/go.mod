module github.com/miniappkit/miniappkit/benchmarks

go 1.25.5

replace github.com/miniappkit/miniappkit => ../

require (
	github.com/go-telegram/bot v1.19.0
	github.com/google/go-github/v74 v74.0.0
	github.com/mymmrac/telego v1.6.0
	github.com/standard-webhooks/standard-webhooks/libraries v1.3.0
	github.com/stripe/stripe-go/v84 v84.4.1
	github.com/svix/svix-webhooks v1.44.0
	github.com/telegram-mini-apps/init-data-golang v1.5.0
)

require github.com/google/go-querystring v1.1.0 // indirect

require (
	github.com/andybalholm/brotli v1.2.0 // indirect
	github.com/bytedance/gopkg v0.1.3 // indirect
	github.com/bytedance/sonic v1.15.0 // indirect
	github.com/bytedance/sonic/loader v0.5.0 // indirect
	github.com/cloudwego/base64x v0.1.6 // indirect
	github.com/grbit/go-json v0.11.0
	github.com/klauspost/compress v1.18.2 // indirect
	github.com/klauspost/cpuid/v2 v2.2.9 // indirect
	github.com/miniappkit/miniappkit v0.0.0-00010101000000-000000000000
	github.com/twitchyliquid64/golang-asm v0.15.1 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasthttp v1.69.0 // indirect
	github.com/valyala/fastjson v1.6.7 // indirect
	golang.org/x/arch v0.0.0-20210923205945-b76863e36670 // indirect
	golang.org/x/sys v0.39.0 // indirect
	gopkg.in/validator.v2 v2.0.1 // indirect
)
