"""A labelled retrieval set for RAG: the docstrings of ~50 standard-library modules (one chunk
per public function or class, stable for a given Python) and 44 questions a user might ask,
each with the functions that answer it. Shared by tests/test_rag_quality.py and
benchmarks/rag.py."""

from __future__ import annotations

import importlib
import inspect

MODULES = (
    "os", "os.path", "shutil", "json", "re", "datetime", "collections", "itertools", "functools",
    "textwrap", "string", "random", "math", "statistics", "pathlib", "subprocess", "tempfile",
    "glob", "fnmatch", "csv", "hashlib", "base64", "zipfile", "tarfile", "gzip", "time",
    "calendar", "heapq", "bisect", "copy", "pprint", "difflib", "urllib.parse", "uuid",
    "secrets", "threading", "queue", "logging", "argparse", "struct", "zlib", "html", "inspect",
    "operator", "decimal", "fractions", "shlex", "getpass", "platform", "locale",
)  # fmt: skip

QUERIES: dict[str, set[str]] = {
    "copy a whole directory tree recursively": {"shutil.copytree"},
    "delete a directory and everything inside it": {"shutil.rmtree"},
    "find the full path of an executable program on PATH": {"shutil.which"},
    "split a file path into directory and file name": {"os.path.split"},
    "check whether a path points to an existing directory": {"os.path.isdir"},
    "serialize a Python object to a JSON formatted string": {"json.dumps"},
    "parse a JSON document from a string": {"json.loads"},
    "replace every match of a regular expression in a string": {"re.sub", "re.subn"},
    "escape special characters so a string matches literally in a regex": {"re.escape"},
    "count how many times each element occurs": {"collections.Counter"},
    "a dictionary that creates missing values with a factory function": {
        "collections.defaultdict"
    },
    "queue with fast appends and pops at both ends": {"collections.deque"},
    "cartesian product of several iterables": {"itertools.product"},
    "all possible orderings of the elements": {"itertools.permutations"},
    "cache the results of a function so repeated calls are fast": {
        "functools.lru_cache", "functools.cache"
    },
    "wrap a long paragraph to lines of a given width": {"textwrap.wrap", "textwrap.fill"},
    "remove the common leading whitespace from every line": {"textwrap.dedent"},
    "choose a random element from a sequence": {"random.choice"},
    "shuffle a list in place": {"random.shuffle"},
    "greatest common divisor of integers": {"math.gcd"},
    "the middle value of a data set": {"statistics.median"},
    "standard deviation of a sample": {"statistics.stdev"},
    "run a command and capture its output": {
        "subprocess.run", "subprocess.check_output", "subprocess.getoutput",
        "subprocess.getstatusoutput",
    },
    "create a temporary directory": {"tempfile.mkdtemp", "tempfile.TemporaryDirectory"},
    "list the files whose names match a shell wildcard pattern": {
        "glob.glob", "glob.iglob", "fnmatch.filter", "fnmatch.fnmatch"
    },
    "encode binary data as base64 text": {"base64.b64encode", "base64.encodebytes"},
    "push an item onto a heap keeping the heap property": {"heapq.heappush", "heapq.heappushpop"},
    "insert an item into a sorted list and keep it sorted": {"bisect.insort", "bisect.insort_right"},
    "make a deep copy of an object": {"copy.deepcopy"},
    "pretty-print a nested data structure": {"pprint.pprint", "pprint.pformat", "pprint.pp"},
    "show the differences between two lists of lines as a unified diff": {"difflib.unified_diff"},
    "words from a list that are close matches to a misspelled word": {"difflib.get_close_matches"},
    "split a URL into scheme, host, path and query": {"urllib.parse.urlsplit", "urllib.parse.urlparse"},
    "percent-encode a string for use in a URL": {"urllib.parse.quote", "urllib.parse.quote_plus"},
    "generate a random UUID": {"uuid.uuid4"},
    "generate a secure random token for a password reset link": {
        "secrets.token_urlsafe", "secrets.token_hex", "secrets.token_bytes"
    },
    "is this year a leap year": {"calendar.isleap"},
    "escape the characters & < > in text for HTML": {"html.escape"},
    "compress bytes with gzip": {"gzip.compress"},
    "split a shell command line into arguments like a shell would": {"shlex.split"},
    "read a password from the terminal without echoing it": {"getpass.getpass"},
    "extract all members of a zip archive": {"zipfile.ZipFile.extractall"},
    "parse command-line options and arguments": {"argparse.ArgumentParser"},
    "pack values into bytes according to a format string": {"struct.pack"},
}  # fmt: skip


# Modules whose functions are defined elsewhere under another name.
_HOMES = {"os.path": ("posixpath", "genericpath"), "os": ("posix",), "time": (None,)}


def corpus(max_words: int = 80) -> dict[str, str]:
    """`module.name` -> its heading line and the start of its docstring."""
    out: dict[str, str] = {}
    for name in MODULES:
        module = importlib.import_module(name)
        home = {module.__name__, f"_{module.__name__}", *_HOMES.get(name, ())}
        for attr, value in sorted(vars(module).items()):
            if attr.startswith("_") or not (inspect.isclass(value) or inspect.isroutine(value)):
                continue
            if inspect.ismethod(value):  # random.choice: a method of the module's Random()
                owner = type(value.__self__)
                if owner.__module__ not in home:
                    continue
            elif getattr(value, "__module__", None) not in home:
                continue  # re-exported from elsewhere (statistics.Counter)
            _add(out, f"{name}.{attr}", value, max_words)
            if inspect.isclass(value):
                for method, member in sorted(vars(value).items()):
                    if not method.startswith("_") and inspect.isfunction(member):
                        _add(out, f"{name}.{attr}.{method}", member, max_words)
    return out


def _add(out: dict[str, str], key: str, value: object, max_words: int) -> None:
    doc = inspect.getdoc(value) or ""
    if len(doc.split()) < 3 or key in out:
        return
    words = doc.split()
    out[key] = f"{key}\n\n" + " ".join(words[:max_words])


def recall_at(found: list[list[str]], k: int = 5) -> float:
    """Share of the queries with a relevant id among their first k results."""
    hits = sum(
        1 for wanted, ids in zip(QUERIES.values(), found, strict=True) if wanted & set(ids[:k])
    )
    return hits / len(QUERIES)
