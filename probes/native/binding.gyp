{
  "targets": [
    {
      "target_name": "wwsock",
      "sources": ["wwsock.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
