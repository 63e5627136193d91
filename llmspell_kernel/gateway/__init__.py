"""Kernels run by Jupyter Enterprise Gateway: the kernelspecs and launcher the gateway starts, and
the client side (`--connect gateway://HOST:PORT`) that starts a kernel through its REST API and
talks to it over its websocket channels."""
