"""A toy model server: loads the model, then answers one request."""

from myservice.app import handle_request

if __name__ == "__main__":
    print(handle_request({"x": [1.0, 2.0, 3.0]}))
