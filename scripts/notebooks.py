#!/usr/bin/python3
"""Execute LoRA Lab's notebooks through the real tslab kernel (Debian's Jupyter client).

  scripts/notebooks.py run NB.ipynb [--write]   execute; with --write, save the outputs into the notebook
  scripts/notebooks.py check NB.ipynb           execute and compare with the committed outputs

Prints one JSON line: {"notebook", "seconds", "errors": [...], "mismatches": [...]}. Any error output, an error reply,
or a cell past the timeout is an error. Cells tagged "nondeterministic" (timings, memory) are not compared.
The kernel runs with the notebook's folder as its working directory, as Jupyter runs it.
"""
import json, os, sys, time, copy
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

def normalize(outputs):
    out = []
    for o in outputs:
        o = dict(o)
        o.pop('execution_count', None)
        o.pop('transient', None)
        if o.get('output_type') == 'stream' and o.get('name') == 'stderr':
            continue  # informational lines (backend choice, progress)
        if 'metadata' in o and not o['metadata']:
            o.pop('metadata')
        out.append(json.loads(json.dumps(o, sort_keys=True)))
    return out

def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ('run', 'check'):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    mode, path = sys.argv[1], sys.argv[2]
    write = '--write' in sys.argv
    timeout = int(os.environ.get('NOTEBOOK_CELL_TIMEOUT', '300'))
    nb = nbformat.read(path, as_version=4)
    committed = copy.deepcopy(nb)
    client = NotebookClient(nb, timeout=timeout, kernel_name='tslab', allow_errors=False,
                            resources={'metadata': {'path': os.path.dirname(os.path.abspath(path))}})
    t0 = time.time()
    errors = []
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        errors.append(str(e)[:2000])
    seconds = time.time() - t0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != 'code':
            continue
        for o in cell.get('outputs', []):
            if o.get('output_type') == 'error':
                errors.append(f"cell {i}: {o.get('ename')}: {o.get('evalue')}\n" + '\n'.join(o.get('traceback', []))[:2000])
    mismatches = []
    if mode == 'check':
        for i, (a, b) in enumerate(zip(committed.cells, nb.cells)):
            if b.cell_type != 'code' or 'nondeterministic' in b.metadata.get('tags', []):
                continue
            if normalize(a.get('outputs', [])) != normalize(b.get('outputs', [])):
                mismatches.append(i)
    if write and not errors:
        nb.metadata['loralab'] = {'executed_seconds': round(seconds, 1)}
        nbformat.write(nb, path)
    print(json.dumps({'notebook': path, 'seconds': round(seconds, 1), 'errors': errors, 'mismatches': mismatches}))

main()
