/// The script that does the work in the browser: a compact SHA-256 over short ASCII strings and the search for a
/// counter whose hash starts with enough zero bits. Runs in a Web Worker (made from a Blob, so the page needs no
/// second request and the CSP allows it with `worker-src blob:`); the page falls back to running it in slices on
/// the main thread where workers are unavailable.
enum ChallengeWorker {
    static let source = """
        var K=[0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,0xd807aa98,\
        0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,0xe49b69c1,0xefbe4786,0x0fc19dc6,\
        0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,\
        0xd5a79147,0x06ca6351,0x14292967,0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,\
        0x92722c85,0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,0x19a4c116,\
        0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,0x748f82ee,0x78a5636f,0x84c87814,\
        0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2];
        var W=new Int32Array(64);
        function zeros(s){
        var n=s.length,blocks=((n+8)>>6)+1,M=new Int32Array(blocks*16),i,b;
        for(i=0;i<n;i++)M[i>>2]|=s.charCodeAt(i)<<(24-(i&3)*8);
        M[n>>2]|=0x80<<(24-(n&3)*8);M[blocks*16-1]=n*8;
        var h0=0x6a09e667,h1=0xbb67ae85|0,h2=0x3c6ef372,h3=0xa54ff53a|0,h4=0x510e527f,h5=0x9b05688c|0,h6=0x1f83d9ab,h7=0x5be0cd19;
        for(b=0;b<blocks;b++){
        for(i=0;i<16;i++)W[i]=M[b*16+i];
        for(i=16;i<64;i++){var x=W[i-15],y=W[i-2];
        W[i]=(((x>>>7|x<<25)^(x>>>18|x<<14)^(x>>>3))+W[i-16]+((y>>>17|y<<15)^(y>>>19|y<<13)^(y>>>10))+W[i-7])|0;}
        var a=h0,c1=h1,c=h2,d=h3,e=h4,f=h5,g=h6,h=h7;
        for(i=0;i<64;i++){
        var t1=(h+((e>>>6|e<<26)^(e>>>11|e<<21)^(e>>>25|e<<7))+((e&f)^(~e&g))+K[i]+W[i])|0;
        var t2=(((a>>>2|a<<30)^(a>>>13|a<<19)^(a>>>22|a<<10))+((a&c1)^(a&c)^(c1&c)))|0;
        h=g;g=f;f=e;e=(d+t1)|0;d=c;c=c1;c1=a;a=(t1+t2)|0;}
        h0=(h0+a)|0;h1=(h1+c1)|0;h2=(h2+c)|0;h3=(h3+d)|0;h4=(h4+e)|0;h5=(h5+f)|0;h6=(h6+g)|0;h7=(h7+h)|0;}
        if(h0!==0)return Math.clz32(h0);
        if(h1!==0)return 32+Math.clz32(h1);
        return 64;}
        function search(c,d,from,count){for(var i=from;i<from+count;i++){if(zeros(c+i)>=d)return i;}return -1;}
        if(typeof document==="undefined"){onmessage=function(e){var c=e.data[0]+":",d=e.data[1],i=0,r;
        while((r=search(c,d,i,50000))<0)i+=50000;postMessage(r);};}
        """
}
