#!/usr/bin/env python3
"""Relabels the second set by phrasing: each hand-written title form of a group is its own group
(incidents-by-phrasing.jsonl), by replaying generate.py with the same seed and recording which form
made each title. python3 label_by_phrasing.py"""
import json, os, sys
HERE = os.path.dirname(os.path.abspath(__file__))
sys.argv=['generate.py']
src=open(HERE + '/generate.py').read()
g={'__name__':'holdout'}
exec(compile(src, HERE + '/generate.py', 'exec'), g)
chosen=[]
orig=g['ch']
def ch(seq):
    v=orig(seq)
    if callable(v) and getattr(v,'__name__','')=='<lambda>':
        chosen.append(v.__code__.co_firstlineno)
    return v
g['ch']=ch
# re-run main with recording; the RNG was consumed at import? main not run since __name__ != __main__
R=g['R']; R.seed(g['SEED'])
# rebuild as main() does, but record the phrasing
import collections
seen=set(); rows=[]
for label,size,templates in g['GROUPS']:
    made=0
    while made<size:
        for _ in range(200):
            chosen.clear()
            title,service=ch(templates)()
            ph=chosen[-1] if chosen else 0
            if not label.startswith('manual') and R.random()<0.04:
                title=ch(["Re: ","Fwd: ","RE: "])+title
            if title not in seen: break
        seen.add(title)
        row={'title':title,'group':label,'phrasing':f"{label}#{ph}"}
        if service and R.random()<0.72: row['service']=service
        rows.append(row); made+=1
R.shuffle(rows)
orig_lines=[json.loads(l) for l in open(HERE + '/incidents.jsonl')]
assert [r['title'] for r in rows]==[o['title'] for o in orig_lines], 'mismatch'
with open(HERE + '/incidents-by-phrasing.jsonl', 'w') as fh:
    for i,r in enumerate(rows,1):
        o={'id':i,'title':r['title']}
        if 'service' in r: o['service']=r['service']
        o['group']=r['phrasing']
        fh.write(json.dumps(o,ensure_ascii=False)+'\n')
print(f"{len(rows)} titles, {len(set(r['phrasing'] for r in rows))} phrasing groups")
