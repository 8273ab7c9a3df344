"""How far float32 rounding alone moves the official CycleGAN iterations.

Runs the three iterations of ../shared/fixtures/pytorch-train/cyclegan_r6_ngf16_ndf16_64
in PyTorch (the networks of bench/pytorch_reference.py, loaded from the official
init weights) in float32 and in float64, and compares both with the losses and
weights the official code reported. The float32 run reproduces the fixture
exactly; the float64 run drifts from it as much as our tfjs trainer does, which
is why test/unit/fidelity.test.ts bounds later iterations by that drift rather
than by float32 epsilon. Needs torch:  python bench/pytorch_float_noise.py
"""
import sys, json, ast, struct, torch
class np:
    @staticmethod
    def load(p):
        b=open(p,'rb').read(); hl=struct.unpack('<H',b[8:10])[0]; h=ast.literal_eval(b[10:10+hl].decode())
        t=torch.frombuffer(bytearray(b[10+hl:]),dtype=torch.float32).reshape(h['shape']); return t
sys.path.insert(0, '__import__("os").path.dirname(__file__)')
from pytorch_reference import resnet_generator, patchgan
from torch import nn
F=__import__('os').path.join(__import__('os').path.dirname(__file__), '../../shared/fixtures/pytorch-train/cyclegan_r6_ngf16_ndf16_64/')
def load(net, name, dtype):
    sd = torch.load(F+name, weights_only=True)
    sd = {k[len('model.'):]: v for k, v in sd.items()}
    net.load_state_dict(sd); return net.to(dtype)
def run(dtype):
    torch.manual_seed(0)
    g_a=load(resnet_generator(16,6),'init_net_G_A.pth',dtype); g_b=load(resnet_generator(16,6),'init_net_G_B.pth',dtype)
    d_a=load(patchgan(3,16),'init_net_D_A.pth',dtype); d_b=load(patchgan(3,16),'init_net_D_B.pth',dtype)
    og=torch.optim.Adam(list(g_a.parameters())+list(g_b.parameters()),lr=2e-4,betas=(0.5,0.999))
    od=torch.optim.Adam(list(d_a.parameters())+list(d_b.parameters()),lr=2e-4,betas=(0.5,0.999))
    mse,l1=nn.MSELoss(),nn.L1Loss()
    gan=lambda p,r: mse(p, torch.ones_like(p) if r else torch.zeros_like(p))
    out=[]
    for k in range(3):
        A=np.load(F+f'iter{k}_A.npy').to(dtype); B=np.load(F+f'iter{k}_B.npy').to(dtype)
        fb=g_a(A); ra=g_b(fb); fa=g_b(B); rb=g_a(fa)
        for p in list(d_a.parameters())+list(d_b.parameters()): p.requires_grad=False
        og.zero_grad()
        ia=g_a(B); ib=g_b(A)
        L=dict(G_A=gan(d_a(fb),True),G_B=gan(d_b(fa),True),cycle_A=l1(ra,A)*10,cycle_B=l1(rb,B)*10,idt_A=l1(ia,B)*5,idt_B=l1(ib,A)*5)
        sum(L.values()).backward(); og.step()
        for p in list(d_a.parameters())+list(d_b.parameters()): p.requires_grad=True
        od.zero_grad()
        L['D_A']=(gan(d_a(B),True)+gan(d_a(fb.detach()),False))*0.5; L['D_A'].backward()
        L['D_B']=(gan(d_b(A),True)+gan(d_b(fa.detach()),False))*0.5; L['D_B'].backward()
        od.step()
        out.append({k2:float(v) for k2,v in L.items()})
    return out, [g_a,g_b,d_a,d_b]
ref=json.load(open(F+'steps.json'))['iterations']
f32,n32=run(torch.float32); f64,n64=run(torch.float64)
for k in range(3):
    r32=max(abs(f32[k][n]-ref[k][n])/abs(ref[k][n]) for n in ref[k])
    r64=max(abs(f64[k][n]-ref[k][n])/abs(ref[k][n]) for n in ref[k])
    print(f'iter {k}: torch-f32 vs official max rel {r32:.2e}; torch-f64 vs official max rel {r64:.2e}')
for name,a,b in zip(['G_A','G_B','D_A','D_B'],n32,n64):
    init=load(resnet_generator(16,6) if name[0]=='G' else patchgan(3,16), f'init_net_{name}.pth', torch.float64)
    after=torch.load(F+f'after3_net_{name}.pth',weights_only=True)
    da=[];db=[];dr=[]
    for (k,p32),(_,p64),(_,p0) in zip(a.state_dict().items(), b.state_dict().items(), init.state_dict().items()):
        if p32.dtype.is_floating_point and p32.dim()>1:
            da.append((p32.double()-p0).flatten()); db.append((p64-p0).flatten()); dr.append((after['model.'+k].double()-p0).flatten())
    da,db,dr=torch.cat(da),torch.cat(db),torch.cat(dr)
    cos=lambda x,y: float((x@y)/(x.norm()*y.norm()))
    print(f'{name}: update cosine f32 vs f64 {cos(da,db):.5f}; official vs f64 {cos(dr,db):.5f}; official vs f32 {cos(dr,da):.5f}')
