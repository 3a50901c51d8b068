# Serve the shop on 127.0.0.1:$PORT; providers are configured by PAYWIRE_* variables.
export SHOP_URL="http://127.0.0.1:$PORT"
flask --app flask_shop run --host 127.0.0.1 --port "$PORT"
