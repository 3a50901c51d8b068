# Serve the shop on 127.0.0.1:$PORT; providers are configured by PAYWIRE_* variables.
export SHOP_URL="http://127.0.0.1:$PORT"
uvicorn --factory fastapi_shop:create_app --host 127.0.0.1 --port "$PORT"
