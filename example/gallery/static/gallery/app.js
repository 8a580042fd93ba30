console.log("gallery ready");
