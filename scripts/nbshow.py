# Print a notebook's outputs compactly (stream text, MIME types and text/plain): python3 scripts/nbshow.py notebooks/NN-slug.ipynb
import json,sys
nb=json.load(open(sys.argv[1]))
for i,c in enumerate(nb['cells']):
  if c['cell_type']!='code': continue
  for o in c['outputs']:
    if o['output_type']=='stream': print(i, o['name'], ''.join(o['text'])[:600])
    elif o['output_type'] in ('display_data','execute_result'): print(i, o['output_type'], list(o['data'].keys()), str(o['data'].get('text/plain'))[:600])
    else: print(i, o)
